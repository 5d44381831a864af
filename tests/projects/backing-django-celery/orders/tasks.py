from celery import shared_task


@shared_task
def report() -> int:
    return 0
