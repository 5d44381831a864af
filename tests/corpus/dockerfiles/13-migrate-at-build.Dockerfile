FROM python:3.11-slim-bookworm
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN python manage.py migrate --noinput && python manage.py collectstatic --noinput
USER 1000
CMD ["gunicorn", "mysite.wsgi"]
