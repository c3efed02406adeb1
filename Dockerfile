# One image for the web, worker and beat services of docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Production by default, even without docker-compose.yml: no debug pages.
ENV DEBUG=false
WORKDIR /app

# libseccomp2: the library pyseccomp loads to build the sandbox's seccomp filter.
RUN apt-get update && apt-get install -y --no-install-recommends libseccomp2 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
# The CPU build of torch: PyPI's default build for Linux brings several GB of CUDA.
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY . .
RUN DEBUG=false SECRET_KEY=build-only-not-used-at-run-time python manage.py collectstatic --no-input -v 0

EXPOSE 8000
CMD ["uvicorn", "attentive.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--lifespan", "off", "--proxy-headers"]
