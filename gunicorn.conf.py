"""gunicorn settings for `gunicorn 'exambank:create_app()'` started from this directory.

The same settings as `python -m exambank.serve` (exambank.serve.common_options): the app is
preloaded in the master (the startup guard runs once, and every worker reports the same
/health instance id), gunicorn's own error log is written as JSON lines by
exambank.serve.JsonLogger, and there is no access log (the service writes one JSON line per
request itself). Flags given on the command line still win over these values.
"""

from exambank.serve import common_options

# Each key is a gunicorn setting name: preload_app, logger_class, worker_class, accesslog, ...
globals().update(common_options())
