package shared

import (
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow/decimal128"
)

// FormatDecimal writes a decimal with its scale's digits, exactly as DuckDB casts it
// to text ("2.5000", "-0.50"): integer arithmetic, never a float.
func FormatDecimal(n decimal128.Num, scale int32) string {
	return string(AppendDecimal(nil, n, scale))
}

// AppendDecimal appends FormatDecimal's text to dst.
func AppendDecimal(dst []byte, n decimal128.Num, scale int32) []byte {
	if n.Sign() < 0 {
		dst = append(dst, '-')
		n = n.Negate()
	}
	var tmp [48]byte
	digits := tmp[:0]
	if n.HighBits() == 0 {
		digits = strconv.AppendUint(digits, n.LowBits(), 10)
	} else {
		digits = n.BigInt().Append(digits, 10)
	}
	if scale <= 0 {
		dst = append(dst, digits...)
		return append(dst, strings.Repeat("0", int(-scale))...)
	}
	s := int(scale)
	if len(digits) <= s {
		dst = append(dst, "0."...)
		dst = append(dst, strings.Repeat("0", s-len(digits))...)
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-s]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-s:]...)
}
