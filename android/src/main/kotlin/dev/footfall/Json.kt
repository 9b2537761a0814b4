package dev.footfall

import java.math.BigDecimal
import java.math.BigInteger

/**
 * The small JSON writer behind [Footfall.track]: maps become objects, collections and arrays become arrays,
 * numbers, booleans, strings, chars, enums (by name) and null map to themselves. Anything else, a non-String
 * map key or a non-finite number is refused with [FootfallException.InvalidInput] so nothing half-encoded is
 * recorded. Nesting is checked by the SDK (16 levels); the writer stops at [MAX_DEPTH] only to survive cycles.
 */
internal object Json {
    const val MAX_DEPTH = 64

    fun encodeObject(map: Map<*, *>): String = StringBuilder(128).also { writeMap(it, map, 1) }.toString()

    /** The nesting the core accepts (`{}` is 1, `{"a":[]}` is 2), checked by [check]. */
    const val MAX_NESTING = 16

    /** The largest encoded properties the core accepts, in UTF-8 bytes. */
    const val MAX_BYTES = 32 * 1024

    /**
     * What [encodeObject] would refuse, and what the core would (nesting beyond [MAX_NESTING]), found without
     * encoding or allocating: `track()` answers [FootfallException.InvalidInput] on the caller's thread and
     * encodes later, off it. Returns an upper bound of the encoded size in UTF-8 bytes.
     */
    fun check(map: Map<*, *>): Long = checkMap(map, 1)

    private fun checkValue(value: Any?, depth: Int): Long = when (value) {
        null -> 4
        is String -> 2L + 6L * value.length
        is Boolean -> 5
        is Int, is Long, is Short, is Byte, is UInt, is ULong, is UShort, is UByte -> 20
        is Double -> if (value.isFinite()) 24 else throw FootfallException.InvalidInput("JSON has no $value")
        is Float -> if (value.isFinite()) 24 else throw FootfallException.InvalidInput("JSON has no $value")
        is BigInteger, is BigDecimal -> value.toString().length.toLong()
        is Number -> value.toDouble().let { if (it.isFinite()) 24 else throw FootfallException.InvalidInput("JSON has no $it") }
        is Char -> 8
        is Enum<*> -> 2L + 6L * value.name.length
        is Map<*, *> -> checkMap(value, depth + 1)
        is Collection<*> -> checkArray(depth + 1) + value.sumOf { checkValue(it, depth + 1) + 1 }
        is Iterable<*> -> checkArray(depth + 1) + value.sumOf { checkValue(it, depth + 1) + 1 }
        is Array<*> -> checkArray(depth + 1) + value.sumOf { checkValue(it, depth + 1) + 1 }
        is IntArray, is LongArray, is ShortArray, is ByteArray, is BooleanArray -> checkArray(depth + 1) + 21L * primitiveSize(value)
        is DoubleArray -> checkArray(depth + 1) + value.sumOf { checkValue(it, depth + 1) + 1 }
        is FloatArray -> checkArray(depth + 1) + value.fold(0L) { sum, it -> sum + checkValue(it, depth + 1) + 1 }
        else -> throw FootfallException.InvalidInput("cannot write a ${value::class.qualifiedName} as JSON")
    }

    private fun primitiveSize(array: Any): Int = when (array) {
        is IntArray -> array.size
        is LongArray -> array.size
        is ShortArray -> array.size
        is ByteArray -> array.size
        is BooleanArray -> array.size
        else -> 0
    }

    private fun checkMap(map: Map<*, *>, depth: Int): Long {
        checkNesting(depth)
        var size = 2L
        for ((key, value) in map) {
            if (key !is String) {
                throw FootfallException.InvalidInput("JSON object keys must be strings, got ${key?.let { it::class.qualifiedName }}")
            }
            size += checkValue(key, depth) + 2 + checkValue(value, depth)
        }
        return size
    }

    private fun checkArray(depth: Int): Long {
        checkNesting(depth)
        return 2
    }

    private fun checkNesting(depth: Int) {
        if (depth > MAX_NESTING) {
            throw FootfallException.InvalidInput("properties are nested $depth levels deep; the most is $MAX_NESTING")
        }
    }

    /** The UTF-8 length of [s] as the core will store it (a lone surrogate was already replaced by U+FFFD). */
    fun utf8Length(s: String): Long {
        var n = 0L
        var i = 0
        while (i < s.length) {
            val c = s[i]
            n += when {
                c.code < 0x80 -> 1
                c.code < 0x800 -> 2
                c.isHighSurrogate() && i + 1 < s.length && s[i + 1].isLowSurrogate() -> { i++; 4 }
                else -> 3
            }
            i++
        }
        return n
    }

    private fun write(out: StringBuilder, value: Any?, depth: Int) {
        when (value) {
            null -> out.append("null")
            is String -> writeString(out, value)
            is Boolean -> out.append(value)
            is Int, is Long, is Short, is Byte, is BigInteger -> out.append(value.toString())
            is Double -> writeFloating(out, value, value.isFinite())
            is Float -> writeFloating(out, value, value.isFinite())
            is BigDecimal -> out.append(value.toString())
            is UInt, is ULong, is UShort, is UByte -> out.append(value.toString())
            is Number -> value.toDouble().let { writeFloating(out, it, it.isFinite()) }
            is Char -> writeString(out, value.toString())
            is Enum<*> -> writeString(out, value.name)
            is Map<*, *> -> writeMap(out, value, depth + 1)
            is Iterable<*> -> writeArray(out, value.iterator(), depth + 1)
            is Array<*> -> writeArray(out, value.iterator(), depth + 1)
            is IntArray -> writeArray(out, value.iterator(), depth + 1)
            is LongArray -> writeArray(out, value.iterator(), depth + 1)
            is DoubleArray -> writeArray(out, value.iterator(), depth + 1)
            is FloatArray -> writeArray(out, value.iterator(), depth + 1)
            is BooleanArray -> writeArray(out, value.iterator(), depth + 1)
            is ShortArray -> writeArray(out, value.iterator(), depth + 1)
            is ByteArray -> writeArray(out, value.iterator(), depth + 1)
            else -> throw FootfallException.InvalidInput("cannot write a ${value::class.qualifiedName} as JSON")
        }
    }

    private fun writeFloating(out: StringBuilder, value: Any, finite: Boolean) {
        if (!finite) throw FootfallException.InvalidInput("JSON has no $value")
        // Kotlin writes 1.0E10 / 1.0E-5: valid JSON numbers.
        out.append(value.toString())
    }

    private fun writeMap(out: StringBuilder, map: Map<*, *>, depth: Int) {
        checkDepth(depth)
        out.append('{')
        var first = true
        for ((key, value) in map) {
            if (key !is String) {
                throw FootfallException.InvalidInput("JSON object keys must be strings, got ${key?.let { it::class.qualifiedName }}")
            }
            if (!first) out.append(',')
            first = false
            writeString(out, key)
            out.append(':')
            write(out, value, depth)
        }
        out.append('}')
    }

    private fun writeArray(out: StringBuilder, items: Iterator<*>, depth: Int) {
        checkDepth(depth)
        out.append('[')
        var first = true
        for (item in items) {
            if (!first) out.append(',')
            first = false
            write(out, item, depth)
        }
        out.append(']')
    }

    private fun checkDepth(depth: Int) {
        if (depth > MAX_DEPTH) throw FootfallException.InvalidInput("properties are nested more than $MAX_DEPTH levels deep")
    }

    private const val HEX = "0123456789abcdef"

    fun writeString(out: StringBuilder, s: String) {
        out.append('"')
        var i = 0
        while (i < s.length) {
            val c = s[i]
            when {
                c == '"' -> out.append("\\\"")
                c == '\\' -> out.append("\\\\")
                c == '\n' -> out.append("\\n")
                c == '\r' -> out.append("\\r")
                c == '\t' -> out.append("\\t")
                c == '\b' -> out.append("\\b")
                c == '\u000C' -> out.append("\\f")
                c < ' ' || c == '\u2028' || c == '\u2029' -> unicodeEscape(out, c)
                c.isHighSurrogate() && i + 1 < s.length && s[i + 1].isLowSurrogate() -> {
                    out.append(c).append(s[i + 1])
                    i++
                }
                // A lone surrogate is not text: UTF-8 cannot carry it, so it becomes U+FFFD like any decoder does.
                c.isSurrogate() -> out.append('\uFFFD')
                else -> out.append(c)
            }
            i++
        }
        out.append('"')
    }

    private fun unicodeEscape(out: StringBuilder, c: Char) {
        val code = c.code
        out.append("\\u")
            .append(HEX[(code shr 12) and 0xF]).append(HEX[(code shr 8) and 0xF])
            .append(HEX[(code shr 4) and 0xF]).append(HEX[code and 0xF])
    }
}
