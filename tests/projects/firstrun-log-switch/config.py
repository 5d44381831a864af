# Written for shipyard's tests, in microblog's shape: the app logs to files in ./logs
# unless LOG_TO_STDOUT is set, and the switch is read here, far from the logging setup.
import os


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY") or "not-a-secret"
    LOG_TO_STDOUT = os.environ.get("LOG_TO_STDOUT")
