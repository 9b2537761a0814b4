// The Footfall Android library (AAR). One project: this directory is both the Gradle root and the library module.
// The Maven build next to it (pom.xml) compiles the same Kotlin for plain-JVM tests; the two share src/main/kotlin
// and never see each other's outputs (Gradle: build/, Maven: target/).
//
// No Gradle wrapper is committed (no binary jars in the repo): use Gradle 8.11.1 (CI pins it through
// gradle/actions/setup-gradle), e.g. `gradle -p android assembleRelease`, or run `gradle wrapper --gradle-version
// 8.11.1` locally for Android Studio.

pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "footfall-android"
