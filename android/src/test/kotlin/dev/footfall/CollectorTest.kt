package dev.footfall

import java.nio.file.Path
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.io.TempDir

/** Base of the suites that run against reference collectors on 127.0.0.1: a temporary directory per test, and
 *  every collector a test started stopped after it. */
abstract class CollectorTest {
    @TempDir
    lateinit var tmp: Path

    private val collectors = mutableListOf<Collector>()

    /** Starts a collector with its own database under [tmp]; [flags] are `footfall collector serve` flags. */
    protected fun collector(vararg flags: String, listen: String = "127.0.0.1:0"): Collector =
        Collector.start(tmp.resolve("collector-${collectors.size}.db"), *flags, listen = listen).also { collectors += it }

    @AfterEach
    fun stopCollectors() {
        collectors.forEach { it.close() }
    }
}
