// The Footfall Android library (AAR). One project: this directory is both the Gradle root and the library module.
// The Maven builds next to it compile the same Kotlin where no Android SDK is installed: pom.xml the Kotlin layer for
// plain-JVM tests, src/android/pom.xml the Android layer against AndroidX and android-all for its Robolectric suite.
// They share the sources and never see each other's outputs (Gradle: build/, Maven: target/).
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
