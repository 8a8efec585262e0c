"""Personal data customers type into their messages: their email, phone or card number.

Real support chats carry it ("reach me at ...", "my card 4111 ... was charged twice"), so the
generator plants some, and the privacy tests can check none of it passes staging in clear.
Which messages carry it follows from the message id (a hash, no random draw), so every other
row and text of the simulation stays what it was.
"""

from __future__ import annotations

import hashlib

from journeymap.privacy import luhn_valid

# About 1 in this many customer messages gives a contact detail.
EVERY_NTH_MESSAGE = 25


def planted_card_number(customer_id: str) -> str:
    """A Luhn-valid 16-digit test card number of this customer (4000 ...), grouped by four."""
    digits = "4000" + f"{int(hashlib.sha256(customer_id.encode()).hexdigest(), 16) % 10**11:011d}"
    check = next(d for d in "0123456789" if luhn_valid(digits + d))
    number = digits + check
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def with_contact_details(
    body: str, message_id: str, customer_id: str, email: str, phone: str
) -> str:
    """``body``, with a contact detail added for about 1 message in EVERY_NTH_MESSAGE."""
    draw = int(hashlib.sha256(message_id.encode()).hexdigest()[:8], 16)
    if draw % EVERY_NTH_MESSAGE:
        return body
    kind = (draw // EVERY_NTH_MESSAGE) % 3
    if kind == 0:
        return f"{body} You can reach me at {email}."
    if kind == 1:
        return f"{body} Please call me back on {phone}."
    return f"{body} It is the card {planted_card_number(customer_id)}."
