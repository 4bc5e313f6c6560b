"""The Optimizers page's Streamlit layer.

- :mod:`.context`: what one rerun of the page knows (the URL's state, the session's runs, present mode);
- :mod:`.intro`: title, the link's notices, the guided experiments;
- :mod:`.controls`: the form — problem, optimizers and their learning rates, steps, schedules;
- :mod:`.training`: Train all, Tune, live retraining, progress and Stop;
- :mod:`.results`: the verdict, the loss chart, the share link, and the tabs (:mod:`.tabs`);
- :mod:`.present`: the page as a projector shows it (``?present=1``);
- :mod:`.reconnect`: a rerun of the page after its server went away (a replica killed or restarted).
"""
