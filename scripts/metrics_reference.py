#!/usr/bin/env python3
"""The reference values of tests/test_metrics.cpp's scikit-learn case, computed by scikit-learn.

Five classes: class 3 never occurs in the truth (but is predicted once), class 4 occurs but is never
predicted. Macro F1 averages over the classes present in the truth (scikit-learn's labels= those
classes), as s2cbam documents; weighted F1 weighs by support. Prints the values to paste into the test.
Usage: python3 scripts/metrics_reference.py   (needs scikit-learn: pip install scikit-learn)
"""
import sklearn
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, precision_score, recall_score

TRUTH = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 4, 4, 0, 1]
PRED = [0, 0, 1, 3, 1, 1, 0, 2, 2, 1, 2, 0, 2, 0, 0, 1]

present = sorted(set(TRUTH))
print(f"// scikit-learn {sklearn.__version__}")
print(f"OA       {accuracy_score(TRUTH, PRED):.17g}")
print(f"kappa    {cohen_kappa_score(TRUTH, PRED, labels=list(range(5))):.17g}")
print(f"macro F1 {f1_score(TRUTH, PRED, labels=present, average='macro', zero_division=0):.17g}")
print(f"weighted F1 {f1_score(TRUTH, PRED, labels=present, average='weighted', zero_division=0):.17g}")
for name, fn in (("precision", precision_score), ("recall", recall_score)):
    values = fn(TRUTH, PRED, labels=list(range(5)), average=None, zero_division=0)
    print(f"{name} " + ", ".join(f"{v:.17g}" for v in values))
print("f1 " + ", ".join(f"{v:.17g}" for v in f1_score(TRUTH, PRED, labels=list(range(5)), average=None, zero_division=0)))
