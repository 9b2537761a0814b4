package dev.footfall

import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.consumeEach
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import dev.footfall.ffi.EventListener as FfiListener
import dev.footfall.ffi.Footfall as FfiFootfall
import dev.footfall.ffi.FootfallEvent as FfiEvent

/**
 * What every part of the Kotlin layer shares: the native handle, the closed flag, the events flow, the consent,
 * wallet and proximity states and the dispatcher blocking calls run on. [Footfall], [ConsentCalls],
 * [RightsCalls], [Wallet] and [Proximity] call through it.
 */
internal class Core(
    config: FootfallConfig,
    transport: HttpTransport?,
    deviceSigner: DeviceSigner? = null,
    keyProvider: KeyProvider? = null,
) {
    val closed = AtomicBoolean(false)

    /** Where blocking native calls (consent changes, reads of the database) run. */
    val ioDispatcher: CoroutineDispatcher = Dispatchers.IO

    /** Background work of this instance (the first consent read); cancelled by [close]. */
    private val scope = CoroutineScope(SupervisorJob() + ioDispatcher)

    val events = MutableSharedFlow<FootfallEvent>(extraBufferCapacity = EVENT_BUFFER, onBufferOverflow = BufferOverflow.DROP_OLDEST)

    val consentState = ConsentState()

    val walletState = WalletState()

    val proximityState = ProximityState()

    val native: FfiFootfall = translating {
        FfiFootfall(
            config,
            transport?.let(::TransportAdapter),
            Listener(events, consentState, walletState, proximityState),
            deviceSigner?.let(::DeviceSignerAdapter),
            keyProvider?.let(::KeyProviderAdapter),
        )
    }

    /** Where `track()` puts events; handed to the native core in batches, and before every other native call. */
    val tracks = TrackBuffer(native, consentState)

    init {
        // The status before any change: one read, which waits for the database to open — on the IO dispatcher,
        // never on the caller's thread. Every change after it arrives with its event.
        scope.launch {
            try {
                consentState.publish(io { it.consentStatus() })
            } catch (e: FootfallException) {
                // Closed or storage failing: nothing to show; changes, if any, still publish theirs.
            }
        }
        if (config.walletKeyset != null) {
            // Likewise the coupons before any wallet change.
            scope.launch {
                try {
                    val mark = walletState.mark()
                    walletState.publishRead(io { it.walletCoupons(null) }, mark)
                } catch (e: FootfallException) {
                    // As above: the next wallet change publishes its list.
                }
            }
        }
        // The visits: one reader, read at start-up and again after each change (ProximityState.changed), in order.
        proximityState.changed()
        scope.launch {
            proximityState.reads.consumeEach {
                try {
                    proximityState.publish(io { native -> native.proximityVisits(Proximity.VISITS_SHOWN.toUInt()) })
                } catch (e: FootfallException) {
                    // Closed or storage failing: the list stays as it was; the next change reads again.
                }
            }
        }
    }

    /**
     * Runs [block] on the native handle, translating its exceptions; [FootfallException.Closed] after [close].
     * The events `track()` buffered go first, so whatever [block] does comes after them.
     */
    inline fun <T> call(block: (FfiFootfall) -> T): T {
        if (closed.get()) throw FootfallException.Closed()
        tracks.drain()
        return try {
            translating { block(native) }
        } catch (e: IllegalStateException) {
            // The handle was destroyed by a concurrent close() while this call was starting.
            if (closed.get()) throw FootfallException.Closed(e) else throw e
        }
    }

    /**
     * A native suspend call (it completes on the SDK's sync thread), awaited on the IO dispatcher: the caller's code
     * after it never runs on an SDK thread, whatever dispatcher the caller uses (`Unconfined`, a test's inline one).
     */
    suspend fun <T> native(block: suspend (FfiFootfall) -> T): T = withContext(ioDispatcher) { call { block(it) } }

    /** [call] on the IO dispatcher, for native calls that block on the disk or the writer thread. */
    suspend fun <T> io(block: (FfiFootfall) -> T): T = withContext(ioDispatcher) { call(block) }

    fun close() {
        if (!closed.compareAndSet(false, true)) return
        tracks.close() // everything accepted reaches the core before it commits and stops
        scope.cancel()
        native.shutdown()
        native.destroy()
    }

    /**
     * Runs on an SDK thread: only hands the event over, a consent or wallet change's state to its flow, an offer
     * or arrival to its flow, and asks for the visits to be read again after a visit or consent change.
     */
    private class Listener(
        private val flow: MutableSharedFlow<FootfallEvent>,
        private val consent: ConsentState,
        private val wallet: WalletState,
        private val proximity: ProximityState,
    ) : FfiListener {
        override fun onEvent(event: FfiEvent) {
            // The states first and outside the events flow, which may drop the oldest when nobody collects.
            when (event) {
                is FfiEvent.ConsentChanged -> {
                    consent.publish(event.status)
                    proximity.changed() // withdrawing `location` deletes the visits: read them again
                }
                is FfiEvent.WalletChanged -> wallet.publish(event.coupons)
                is FfiEvent.VisitChanged -> proximity.changed()
                is FfiEvent.OfferMade -> proximity.offers.tryEmit(event.offer)
                is FfiEvent.PickupArrived -> proximity.arrivals.tryEmit(event.pickup)
                else -> {}
            }
            flow.tryEmit(event.toFootfallEvent())
        }
    }

    private companion object {
        const val EVENT_BUFFER = 256
    }
}
