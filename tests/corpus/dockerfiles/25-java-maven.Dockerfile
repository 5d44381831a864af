FROM maven:3.9.6-eclipse-temurin-21 AS build
WORKDIR /build
COPY pom.xml .
RUN --mount=type=cache,target=/root/.m2 mvn -q dependency:go-offline
COPY src ./src
RUN --mount=type=cache,target=/root/.m2 mvn -q package -DskipTests

FROM eclipse-temurin:21.0.2_13-jre-jammy
COPY --from=build /build/target/app.jar /app/app.jar
USER 1001
HEALTHCHECK CMD ["java", "-version"]
ENTRYPOINT ["java", "-jar", "/app/app.jar"]
