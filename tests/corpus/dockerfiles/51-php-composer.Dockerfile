FROM composer:2.7.2 AS vendor
WORKDIR /app
COPY composer.json composer.lock ./
RUN composer install --no-dev --no-scripts --prefer-dist

FROM php:8.3.6-fpm-alpine3.19
RUN apk add --no-cache $PHPIZE_DEPS && docker-php-ext-install opcache
COPY --from=vendor /app/vendor /var/www/vendor
COPY . /var/www
USER www-data
HEALTHCHECK CMD ["php-fpm", "-t"]
CMD ["php-fpm"]
