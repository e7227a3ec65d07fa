"""Write bot/sentiment/data/spanish_model.json from the sentiment-analysis-spanish package.

The package (PyPI `sentiment-analysis-spanish`, MIT licence, Hugo J. Bello) ships a
multinomial naive Bayes model over word 1-3-grams, trained on more than 800,000 Spanish
reviews rated by their authors (restaurants, hotels, films, shops). Naive Bayes is linear
in log-odds, so each n-gram's log-probability ratio is all the bot needs: this script
stores those ratios and the prior, checks that pure Python reproduces the package's own
probabilities, and writes the file. The bot then needs neither scikit-learn nor the
package's 30 MB of pickles. Deterministic: rerunning it gives the same file.

    pip install -e '.[train]'
    python scripts/distill_spanish_model.py
"""

from __future__ import annotations

import bz2
import json
import math
import pickle
import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bot.sentiment.spanish import NaiveBayes

OUT = ROOT / "bot" / "sentiment" / "data" / "spanish_model.json"
# Sentences to check the distilled model against the package's own predict_proba.
CHECKS = (
    "me encantó, el trato fue excelente",
    "esperé una hora y nadie se disculpó",
    "no me gustó nada, muy caro",
    "la enfermera fue muy amable pero el resultado no es lo que esperaba",
    "todo perfecto, volveré sin duda",
)


def _load(name: str) -> object:
    model_dir = resources.files("sentiment_analysis_spanish").joinpath("saved_model")
    with resources.as_file(model_dir.joinpath(name)) as path, bz2.BZ2File(path, "rb") as file:
        return pickle.load(file)  # noqa: S301 - the package's own model file, read offline


def main() -> None:
    """Distil, check and write the model."""
    vectorizer = _load("ngram_vectorized_compressed.pbz2")
    classifier = _load("classifier_naive_bayes_compressed.pbz2")
    params = vectorizer.get_params()  # type: ignore[attr-defined]
    if params["ngram_range"] != (1, 3) or not params["lowercase"]:
        raise SystemExit(f"unexpected vectorizer settings: {params}")
    negative, positive = classifier.feature_log_prob_  # type: ignore[attr-defined]
    prior_negative, prior_positive = classifier.class_log_prior_  # type: ignore[attr-defined]
    ratios = {
        ngram: round(float(positive[index] - negative[index]), 5)
        for ngram, index in sorted(vectorizer.vocabulary_.items())  # type: ignore[attr-defined]
    }
    model = NaiveBayes(round(float(prior_positive - prior_negative), 5), ratios)
    for sentence in CHECKS:
        expected = float(classifier.predict_proba(vectorizer.transform([sentence]))[0][1])  # type: ignore[attr-defined]
        got = 1 / (1 + math.exp(-model.log_odds(sentence)))
        if abs(got - expected) > 1e-3:
            raise SystemExit(f"distilled model disagrees on {sentence!r}: {got} vs {expected}")
    OUT.write_text(
        json.dumps(
            {
                "about": (
                    "Naive Bayes log-odds (positive vs negative) of Spanish word 1-3-grams, "
                    "distilled by scripts/distill_spanish_model.py from the PyPI package "
                    "sentiment-analysis-spanish 0.0.25 (Hugo J. Bello, MIT licence), trained "
                    "on over 800,000 Spanish user reviews rated by their authors."
                ),
                "prior": model.prior,
                "ngrams": model.ngrams,
            },
            ensure_ascii=False,
            indent=0,
            sort_keys=True,
        ),
        "utf-8",
    )
    print(f"wrote {len(ratios):,} n-grams to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
