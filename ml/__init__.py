"""SignalCraft machine-learning core: features, classifier, baseline, artifacts.

Import the submodules you need (``ml.analysis``, ``ml.artifacts``, ``ml.demo``,
``ml.train``, ...); this package imports nothing heavy by itself.
"""
