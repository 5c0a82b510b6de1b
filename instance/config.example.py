# Example deployment configuration: copy to instance/config.py and adjust.
# Values here override the defaults; HRPIPELINE_* environment variables override this file
# (e.g. HRPIPELINE_MIN_CELL=7). Never commit instance/config.py or instance/secret_key.

# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://hrpipeline@127.0.0.1/hrpipeline"
# MIN_CELL = 5              # k: counts 1..k-1 are never published (allowed 3..10)
# MIN_DENOMINATOR = 20      # rates on fewer than 20 persons are never published
# SESSION_COOKIE_SECURE = True   # behind HTTPS
# MAX_CONTENT_LENGTH = 50 * 1024 * 1024
