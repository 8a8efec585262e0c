"""What customers say and feel: intent, journey stage, sentiment and emotion of every text a
customer wrote, and the friction themes in the negative ones.

labels.py     the label sets and their definitions (light: no scikit-learn)
corpus.py     the labelled corpus the embedded model learns from (corpus/*.csv, package data)
embedded.py   the default backend: scikit-learn on the corpus plus VADER's lexicon
llm.py        the optional backend: an OpenAI-compatible chat-completions endpoint
labelling.py  one entry point for both backends, incremental against ml.text_labels
themes.py     friction themes: negative texts clustered per stage (TF-IDF + NMF)
"""
