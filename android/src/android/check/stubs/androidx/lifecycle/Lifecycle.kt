// Stubs of the androidx.lifecycle API used by the glue, with the published signatures (lifecycle 2.8.x).
package androidx.lifecycle
interface LifecycleObserver
abstract class Lifecycle { abstract fun addObserver(observer: LifecycleObserver) }
interface LifecycleOwner { val lifecycle: Lifecycle }
interface DefaultLifecycleObserver : LifecycleObserver {
    fun onCreate(owner: LifecycleOwner) {}
    fun onStart(owner: LifecycleOwner) {}
    fun onResume(owner: LifecycleOwner) {}
    fun onPause(owner: LifecycleOwner) {}
    fun onStop(owner: LifecycleOwner) {}
    fun onDestroy(owner: LifecycleOwner) {}
}
class ProcessLifecycleOwner private constructor() : LifecycleOwner {
    override val lifecycle: Lifecycle get() = TODO()
    companion object { @JvmStatic fun get(): LifecycleOwner = TODO() }
}
