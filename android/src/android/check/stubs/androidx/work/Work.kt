// Stubs of the androidx.work API used by the glue, with the published signatures (work 2.10.x).
package androidx.work
import android.content.Context
import java.util.concurrent.TimeUnit
class Data {
    fun getString(key: String): String? = TODO()
    fun getBoolean(key: String, defaultValue: Boolean): Boolean = TODO()
}
fun workDataOf(vararg pairs: Pair<String, Any?>): Data = TODO()
class WorkerParameters
abstract class ListenableWorker(val applicationContext: Context, params: WorkerParameters) {
    val inputData: Data get() = TODO()
    val runAttemptCount: Int get() = TODO()
    abstract class Result {
        companion object {
            @JvmStatic fun success(): Result = TODO()
            @JvmStatic fun retry(): Result = TODO()
            @JvmStatic fun failure(): Result = TODO()
        }
    }
}
abstract class CoroutineWorker(appContext: Context, params: WorkerParameters) : ListenableWorker(appContext, params) {
    abstract suspend fun doWork(): Result
}
enum class NetworkType { NOT_REQUIRED, CONNECTED }
enum class BackoffPolicy { EXPONENTIAL, LINEAR }
enum class ExistingWorkPolicy { REPLACE, KEEP, APPEND }
class Constraints { class Builder { fun setRequiredNetworkType(t: NetworkType): Builder = this; fun build(): Constraints = TODO() } }
abstract class WorkRequest
class OneTimeWorkRequest : WorkRequest() {
    class Builder(c: Class<out ListenableWorker>) {
        fun setConstraints(c: Constraints): Builder = this
        fun setBackoffCriteria(p: BackoffPolicy, d: Long, u: TimeUnit): Builder = this
        fun setInputData(d: Data): Builder = this
        fun build(): OneTimeWorkRequest = TODO()
    }
}
inline fun <reified W : ListenableWorker> OneTimeWorkRequestBuilder(): OneTimeWorkRequest.Builder = OneTimeWorkRequest.Builder(W::class.java)
abstract class Operation
abstract class WorkManager {
    abstract fun enqueueUniqueWork(name: String, policy: ExistingWorkPolicy, request: OneTimeWorkRequest): Operation
    companion object { @JvmStatic fun getInstance(context: Context): WorkManager = TODO() }
}
