// The Footfall Android library (AAR): the idiomatic Kotlin layer (src/main/kotlin, shared with the Maven JVM build),
// the UniFFI-generated bindings (generated here before compiling, never committed), the Android layer
// (src/android/kotlin: process-wide instance, lifecycle flush, WorkManager upload, TCF bridge, beacon scanner) and
// libfootfall_ffi.so for arm64-v8a, armeabi-v7a and x86_64, built by cargo-ndk with 16 KB page alignment.
//
//   gradle -p android assembleRelease       ->  android/build/outputs/aar/footfall-android-release.aar
//   gradle -p android testDebugUnitTest     ->  the Android layer's Robolectric suite (src/android/test/kotlin)
//
// The same sources and dependency versions are compiled by Maven in src/android/pom.xml, which runs the same
// Robolectric suite where no Android SDK is installed (scripts/test-android.sh). Keep the versions in step.
//
// Needs: JDK 17, the Android SDK (platform 35) and NDK 28.0.13004108, cargo with the three Android targets
// (rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android) and cargo-ndk
// (cargo install cargo-ndk). .github/workflows/android.yml sets all of this up.

import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.21"
}

val repoRoot: File = rootDir.parentFile
val cargo: String = System.getenv("CARGO") ?: "cargo"
val cargoTargetDir: File = System.getenv("CARGO_TARGET_DIR")?.let { File(it) } ?: repoRoot.resolve("target")
val hostLibraryName: String =
    if (System.getProperty("os.name").lowercase().contains("mac")) "libfootfall_ffi.dylib" else "libfootfall_ffi.so"
val generatedBindingsDir: File = layout.buildDirectory.get().asFile.resolve("generated/source/uniffi/main")
val rustJniLibsDir: File = layout.buildDirectory.get().asFile.resolve("rustJniLibs")
val buildRust: Boolean = providers.gradleProperty("footfall.buildRust").map { it.toBoolean() }.getOrElse(true)

// Robolectric's framework jar for API 35 (robolectric.properties), fetched as a dependency for its offline mode.
val robolectricAndroidAll: Configuration by configurations.creating
val robolectricDepsDir: File = layout.buildDirectory.get().asFile.resolve("robolectric-deps")

// NDK r28+ links 16 KB aligned by default; the flag below makes older NDKs do the same.
val ndkVersionPinned = "28.0.13004108"
val androidAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")

android {
    namespace = "dev.footfall"
    compileSdk = 35
    ndkVersion = ndkVersionPinned

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }

    buildTypes {
        release {
            // A library is shrunk by the app that uses it (consumer-rules.pro travels in the AAR).
            isMinifyEnabled = false
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets {
        getByName("main") {
            // Outside src/main so the Maven JVM build (which reads src/main/kotlin only) is unaffected.
            manifest.srcFile("src/android/AndroidManifest.xml")
            java.srcDirs("src/main/kotlin", "src/android/kotlin", generatedBindingsDir)
            jniLibs.srcDir(rustJniLibsDir)
        }
        getByName("test") {
            // Replaces the default src/test/{java,kotlin}: those are the Maven JVM tests (JUnit 5, no Android).
            java.setSrcDirs(listOf("src/testFixtures/kotlin", "src/android/test/kotlin"))
            kotlin.setSrcDirs(listOf("src/testFixtures/kotlin", "src/android/test/kotlin"))
            resources.setSrcDirs(listOf("src/android/test/resources"))
        }
    }

    testOptions {
        unitTests {
            isIncludeAndroidResources = true
            all { test ->
                // What src/android/pom.xml's surefire configuration sets: the host library, the collector, the TC
                // vectors, and Robolectric offline on the android-all jar fetched as a dependency.
                test.dependsOn("buildHostCli", "copyRobolectricAndroidAll") // registered below
                test.systemProperty("jna.library.path", cargoTargetDir.resolve("debug").path)
                test.systemProperty("footfall.bin", cargoTargetDir.resolve("debug/footfall").path)
                test.systemProperty("footfall.tcf.vectors", repoRoot.resolve("tests/tcf-vectors/vectors.json").path)
                test.systemProperty("robolectric.offline", "true")
                test.systemProperty("robolectric.dependency.dir", robolectricDepsDir.path)
            }
        }
    }
}

// Unit tests: the Android layer's Robolectric suite (src/android/test/kotlin, plus the collector helper in
// src/testFixtures/kotlin), for the debug variant only. src/test/kotlin holds the plain-JVM JUnit 5 tests that Maven
// runs (scripts/test-kotlin.sh); they are not part of this source set. No instrumented tests.
androidComponents {
    beforeVariants { variant ->
        variant.enableUnitTest = variant.buildType == "debug"
        variant.enableAndroidTest = false
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    // The generated bindings call the native library through JNA (>= 5.12); the @aar carries JNA's own native
    // dispatch library for each ABI. Same version as android/pom.xml, which the JVM tests run with.
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    // Rust async functions are suspend functions; Footfall.events is a SharedFlow.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    // Android layer: flush when the app goes to the background, upload later with WorkManager (CoroutineWorker is in
    // work-runtime itself; work-runtime-ktx is empty since 2.9). Same versions as src/android/pom.xml.
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")
    implementation("androidx.work:work-runtime:2.11.2")

    // The Robolectric suite of the Android layer (same versions as src/android/pom.xml).
    testImplementation("junit:junit:4.13.2")
    testImplementation("org.robolectric:robolectric:4.17")
    testImplementation("androidx.work:work-testing:2.11.2")
    testImplementation("org.jetbrains.kotlinx:kotlinx-serialization-json:1.8.1")
    // JNA's desktop dispatch libraries (the @aar above carries only Android ones): the tests load the host library.
    testImplementation("net.java.dev.jna:jna:5.17.0")
    robolectricAndroidAll("org.robolectric:android-all-instrumented:15-robolectric-13954326-i7")
}

// --- Rust: host library + bindings, then the Android libraries -----------------------------------------------

val buildHostLibrary by tasks.registering(Exec::class) {
    group = "footfall"
    description = "Builds the host footfall-ffi library (debug, unstripped) and uniffi-bindgen."
    workingDir(repoRoot)
    commandLine(cargo, "build", "--locked", "-p", "footfall-ffi", "-p", "uniffi-bindgen")
}

val buildHostCli by tasks.registering(Exec::class) {
    group = "footfall"
    description = "Builds the footfall CLI, whose reference collector the unit tests upload to."
    workingDir(repoRoot)
    commandLine(cargo, "build", "--locked", "-p", "footfall-cli")
}

val copyRobolectricAndroidAll by tasks.registering(Copy::class) {
    from(robolectricAndroidAll)
    into(robolectricDepsDir)
}

val generateUniffiBindings by tasks.registering(Exec::class) {
    group = "footfall"
    description = "Generates the Kotlin bindings (package dev.footfall.ffi) from the host library."
    dependsOn(buildHostLibrary)
    val hostLibrary = cargoTargetDir.resolve("debug/$hostLibraryName")
    inputs.file(hostLibrary)
    inputs.file(repoRoot.resolve("bindings/ffi/uniffi.toml"))
    outputs.dir(generatedBindingsDir)
    workingDir(repoRoot) // uniffi-bindgen reads `cargo metadata` to find uniffi.toml
    doFirst { generatedBindingsDir.deleteRecursively() }
    commandLine(
        cargoTargetDir.resolve("debug/uniffi-bindgen").path,
        "generate", hostLibrary.path,
        "--language", "kotlin",
        "--no-format",
        "--out-dir", generatedBindingsDir.path,
    )
}

val cargoNdkBuild by tasks.registering(Exec::class) {
    group = "footfall"
    description = "Builds libfootfall_ffi.so for ${androidAbis.joinToString()} with cargo-ndk (mobile profile, 16 KB pages)."
    workingDir(repoRoot)
    outputs.dir(rustJniLibsDir)
    outputs.upToDateWhen { false } // cargo knows whether anything changed
    doFirst {
        environment("ANDROID_NDK_HOME", android.ndkDirectory.path)
    }
    // 16 KB pages (Android 15+ devices); relocations packed (Android 6+; ~250 KB less on x86_64, see
    // scripts/check-size.sh, which measures the host's DT_RELR as a stand-in: the NDK build is not run here).
    environment("RUSTFLAGS", "-C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,--pack-dyn-relocs=android")
    commandLine(
        listOf(cargo, "ndk") +
            androidAbis.flatMap { listOf("-t", it) } +
            listOf("--platform", "24", "-o", rustJniLibsDir.path, "build") +
            // The mobile profile, without the built-in reqwest/rustls transport: uploads go through the platform's
            // HTTP stack (UrlConnectionTransport unless the app passes its own). scripts/check-size.sh budgets it.
            listOf("--profile", "mobile", "--no-default-features", "--locked", "-p", "footfall-ffi"),
    )
}

tasks.named("preBuild") {
    dependsOn(generateUniffiBindings)
    if (buildRust) dependsOn(cargoNdkBuild)
}
