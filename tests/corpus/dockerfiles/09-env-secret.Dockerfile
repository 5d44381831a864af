FROM python:3.12-alpine3.20
ENV DJANGO_SECRET_KEY=insecure-do-not-ship \
    DATABASE_URL=postgres://app:hunter2@db:5432/app
COPY . /app
RUN pip install -r /app/requirements.txt
CMD python /app/manage.py runserver 0.0.0.0:8000
