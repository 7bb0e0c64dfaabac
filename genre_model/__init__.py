"""genre_model: multi-label genre classification of Korean movie synopses.

The library behind train.py and app.py, one concern a module. Reading data:
`tables` (files and Hub datasets), `corpus` (the project's own synopses),
`genres` (the 20 genres and the parser). Training side: `data` (clean,
de-duplicate, split), `batching`, `modeling`, `metrics`, `baselines`,
`model_card`, `hub`, `scratch` (from-scratch encoders), `cpu_threads`,
`collect` (KOBIS/KMDb data), `evaluate`. Both sides: `scoring` (synopses to
probabilities, long ones in windows), `model_folder` (writes and reads a
trained model's folder), `errors`. Serving side, which imports nothing of the
training side: `predict` (the predictor and batch CLI), `inputs`, `fast_cpu`,
`explain`.
"""
