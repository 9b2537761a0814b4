package dev.footfall.android

import android.bluetooth.BluetoothAdapter
import android.bluetooth.BluetoothManager
import android.content.Context
import android.bluetooth.le.ScanRecord
import android.bluetooth.le.ScanResult
import android.os.SystemClock
import java.nio.ByteBuffer
import java.util.UUID

/** What a [BeaconSink] was told, in order. */
sealed interface SinkCall {
    data class Advertisement(val hex: String, val rssi: Int, val ageMs: Long) : SinkCall
    data object Tick : SinkCall
    data class Scanning(val active: Boolean) : SinkCall
}

/** A [BeaconSink] that records every call (on the main looper, where the scanner calls it). */
class RecordingSink : BeaconSink {
    val calls = mutableListOf<SinkCall>()

    override fun advertisement(bytes: ByteArray, rssi: Int, ageMs: Long) {
        calls += SinkCall.Advertisement(bytes.hex(), rssi, ageMs)
    }

    override fun scanTick() {
        calls += SinkCall.Tick
    }

    override fun scanning(active: Boolean) {
        calls += SinkCall.Scanning(active)
    }

    val ticks: Int get() = calls.count { it == SinkCall.Tick }
    val advertisements: List<SinkCall.Advertisement> get() = calls.filterIsInstance<SinkCall.Advertisement>()
    val lastScanning: Boolean? get() = calls.filterIsInstance<SinkCall.Scanning>().lastOrNull()?.active

    fun clear() = calls.clear()
}

fun ByteArray.hex(): String = joinToString("") { "%02x".format(it) }

/** Advertisement payloads as beacons send them (AD structures: length, type, data). */
object Adverts {
    val STORE_UUID: UUID = UUID.fromString("f7826da6-4fa2-4e98-8024-bc5b71e0893e")
    private val FLAGS = bytes(0x02, 0x01, 0x06)

    fun iBeacon(uuid: UUID = STORE_UUID, major: Int = 1, minor: Int = 7): ByteArray = ByteBuffer.allocate(3 + 27)
        .put(FLAGS)
        .put(bytes(0x1A, 0xFF, 0x4C, 0x00, 0x02, 0x15))
        .putLong(uuid.mostSignificantBits).putLong(uuid.leastSignificantBits)
        .putShort(major.toShort()).putShort(minor.toShort())
        .put((-59).toByte())
        .array()

    fun altBeacon(companyId: Int = 0x0118): ByteArray = ByteBuffer.allocate(3 + 28)
        .put(FLAGS)
        .put(bytes(0x1B, 0xFF, companyId and 0xFF, companyId shr 8, 0xBE, 0xAC))
        .put(ByteArray(20) { (it + 1).toByte() })
        .put((-65).toByte()).put(0)
        .array()

    fun eddystoneUid(): ByteArray = ByteBuffer.allocate(3 + 4 + 24)
        .put(FLAGS)
        .put(bytes(0x03, 0x03, 0xAA, 0xFE))
        .put(bytes(0x17, 0x16, 0xAA, 0xFE, 0x00, 0xEE))
        .put(ByteArray(16) { (0x40 + it).toByte() })
        .put(bytes(0x00, 0x00))
        .array()

    /** Some other device's manufacturer data (Microsoft's company id): not a beacon. */
    fun other(): ByteArray = FLAGS + bytes(0x07, 0xFF, 0x06, 0x00, 0x01, 0x09, 0x20, 0x02)

    private fun bytes(vararg values: Int) = ByteArray(values.size) { values[it].toByte() }
}

/** ScanRecord.parseFromBytes is hidden from apps; the android-all framework has it. */
fun scanRecord(bytes: ByteArray): ScanRecord =
    ScanRecord::class.java.getDeclaredMethod("parseFromBytes", ByteArray::class.java).invoke(null, bytes) as ScanRecord

/**
 * A result as the stack reports it: heard [ageMs] before now on the elapsed-realtime clock (negative: in the future).
 * No device: android-all 35's BluetoothDevice cannot be initialised under Robolectric 4.17 (it needs a class the jar
 * lacks), and neither the scanner nor the filters used here read it.
 */
@Suppress("DEPRECATION")
fun scanResult(bytes: ByteArray, rssi: Int, ageMs: Long): ScanResult =
    ScanResult(null, scanRecord(bytes), rssi, SystemClock.elapsedRealtimeNanos() - ageMs * 1_000_000L)

/** The device's adapter, as the scanner finds it (null only when ShadowBluetoothAdapter says Bluetooth is unsupported). */
fun Context.bluetoothAdapter(): BluetoothAdapter = getSystemService(BluetoothManager::class.java)!!.adapter
