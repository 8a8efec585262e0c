"""What customers say and feel: intent, journey stage, sentiment and emotion of every text a
customer wrote, and the friction themes in the negative ones.

labels.py      the label sets and their definitions, the labelling guideline (light imports)
corpus.py      the labelled corpus the embedded model learns from (corpus/*.csv, package data)
normalise.py   what a model reads of a text (transcript markup cut) and its hash
embedded.py    the default backend: scikit-learn on the corpus plus VADER's lexicon
llm.py         the optional backend: an OpenAI-compatible chat-completions endpoint
backends.py    which backend runs (JOURNEYMAP_TEXT_BACKEND)
labelling.py   labelling ml.text_labels incrementally with a backend
evaluation.py  the model report entry: macro-F1 held out and on the generator's truth
themes.py      friction themes: negative texts clustered per stage (TF-IDF + NMF)
classify.py    the classify-text command: one text or a CSV file
"""
