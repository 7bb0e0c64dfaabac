"""genre_model: multi-label genre classification of Korean movie synopses.

The library behind train.py and app.py, one concern a module: `genres` (the 20
genres and the parser), `data` (load, clean, de-duplicate, split), `batching`,
`modeling`, `metrics` (scores, thresholds), `model_folder` and `model_card` (what
training hands on), `hub`, `predict` (the predictor and batch CLI), `inputs`,
`fast_cpu`, `scratch` (from-scratch encoders) and `collect` (KOBIS/KMDb data).
"""
