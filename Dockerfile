# voicebridge: one image for `serve` and `worker`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY voicebridge voicebridge
COPY routing routing
COPY channels channels
COPY tetra tetra
COPY dialplans dialplans
RUN pip install -c constraints.txt . \
 && useradd --system --home-dir /app --shell /usr/sbin/nologin voicebridge
USER voicebridge
EXPOSE 8080
CMD ["voicebridge", "serve"]
