"""Collecting the training data: KOBIS film list + KMDb synopses -> a genre dataset on the Hub.

    python -m genre_model.collect films      # KOBIS film list (open API, or --xlsx website export)
    python -m genre_model.collect synopses   # Korean synopsis of each film from KMDb
    python -m genre_model.collect build      # rules, genre mapping, dedupe -> Parquet + JSON Lines + card
    python -m genre_model.collect push USER/NAME

See __main__.py for the options. One module per job: cache (SQLite response
cache), client (rate-limited, retrying HTTP), kobis / xlsx (film list),
synopses (the SynopsisSource protocol) and kmdb (its KMDb implementation),
rules, build, card, hub. Steps hand over files in the work folder (workdir).
"""
