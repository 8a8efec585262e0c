"""Anonymous prospects: browse (and may view or add products) on one device, never sign up."""

from __future__ import annotations

from journeymap.generator.clock import DAY, HOUR
from journeymap.generator.params import PERSONA_CHOICE, SESSION_GAP_MIN
from journeymap.generator.person import PersonSim, SimContext
from journeymap.generator.rng import PROSPECT_KEY_OFFSET, expo, uniform_int
from journeymap.generator.truth import PersonOutput, funnel_progress


class ProspectSim(PersonSim):
    def __init__(self, ctx: SimContext, index: int) -> None:
        super().__init__(ctx, PROSPECT_KEY_OFFSET + index)
        r = self.r
        persona = self.persona = PERSONA_CHOICE.pick(r)
        dtype = persona.devices.pick(r)
        self.new_device(dtype, dtype != "desktop" and r() < persona.app_share)

    def run(self) -> PersonOutput:
        clock, r, p = self.ctx.clock, self.r, self.persona
        t = clock.start + int(r() * max(1, clock.end - HOUR - clock.start))
        for i in range(uniform_int(r, 1, max(1, p.pre_sessions[1]))):
            if t > clock.end:
                break
            channel = p.acquisition.pick(r) if i == 0 else p.returning.pick(r)
            campaign = f"promo_{clock.fmt(t)[:7].replace('-', '')}" if channel == "email" else ""
            self.run_session(self.devices[0], t, channel, campaign)
            t = self.last_end + SESSION_GAP_MIN + int(expo(r, p.pre_gap_days * DAY))
        return PersonOutput(
            records=self.records,
            persona=p.name,
            funnel=funnel_progress(self.funnel_events),
            paid_visits=self.paid_visits,
        )
