package dev.footfall

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The JSON writer behind track(): exact output, escaping, and refusals as typed exceptions. */
class JsonTest {
    private enum class Size { LARGE }

    @Test
    fun `writes every supported value exactly`() {
        val value = linkedMapOf(
            "s" to "plain",
            "i" to 1980,
            "l" to 9_007_199_254_740_993L,
            "neg" to -7,
            "d" to 19.8,
            "f" to 0.5f,
            "exp" to 1.0e21,
            "t" to true,
            "n" to null,
            "c" to 'x',
            "e" to Size.LARGE,
            "u" to 42u,
            "list" to listOf(1, "two", listOf<Any>(), mapOf<String, Any>()),
            "arr" to arrayOf("a", null),
            "ints" to intArrayOf(1, 2),
            "nested" to mapOf("deeper" to mapOf("k" to false)),
        )
        assertEquals(
            """{"s":"plain","i":1980,"l":9007199254740993,"neg":-7,"d":19.8,"f":0.5,"exp":1.0E21,"t":true,"n":null,""" +
                """"c":"x","e":"LARGE","u":42,"list":[1,"two",[],{}],"arr":["a",null],"ints":[1,2],""" +
                """"nested":{"deeper":{"k":false}}}""",
            Json.encodeObject(value),
        )
        assertEquals("{}", Json.encodeObject(emptyMap<String, Any>()))
    }

    @Test
    fun `escapes quotes, backslashes and control characters and keeps unicode`() {
        val text = "say \"hi\"\\ \n\r\t\b\u000C\u0001\u001F é 😀 \u2028"
        assertEquals(
            """{"k\"ey":"say \"hi\"\\ \n\r\t\b\f\u0001\u001f é 😀 \u2028"}""",
            Json.encodeObject(mapOf("k\"ey" to text)),
        )
    }

    @Test
    fun `a lone surrogate becomes the replacement character`() {
        assertEquals("{\"k\":\"a\uFFFDb\"}", Json.encodeObject(mapOf("k" to "a\uD800b")))
        assertEquals("{\"k\":\"\uFFFD\"}", Json.encodeObject(mapOf("k" to "\uDC00")))
    }

    @Test
    fun `values JSON cannot carry are refused with a typed exception`() {
        for (bad in listOf(Double.NaN, Double.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Any(), Thread.currentThread())) {
            assertThrows<FootfallException.InvalidInput>(bad.toString()) { Json.encodeObject(mapOf("v" to bad)) }
        }
        val e = assertThrows<FootfallException.InvalidInput> { Json.encodeObject(mapOf(1 to "x")) }
        assertTrue(e.message!!.contains("keys must be strings"), e.message)
    }

    @Test
    fun `a cycle is refused instead of overflowing the stack`() {
        val cyclic = HashMap<String, Any?>()
        cyclic["self"] = cyclic
        assertThrows<FootfallException.InvalidInput> { Json.encodeObject(cyclic) }
    }
}
