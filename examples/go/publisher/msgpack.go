// The bus carries job specs and job events as MessagePack (msgpack.org). The Go standard
// library has no encoder, and this example uses nothing but the standard library and the NATS
// client, so here is the part of the format the bus uses: nil, booleans, integers, floats,
// strings, binary, arrays and maps with string keys; extension values are skipped (read as nil).
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
)

// encodeMsgpack encodes maps (string keys, sorted), slices, strings, bools, nil and numbers.
// A float64 with an integral value is written as an integer, as JavaScript would.
func encodeMsgpack(v interface{}) ([]byte, error) {
	var out []byte
	err := appendValue(&out, v)
	return out, err
}

func appendValue(out *[]byte, v interface{}) error {
	switch x := v.(type) {
	case nil:
		*out = append(*out, 0xc0)
	case bool:
		if x {
			*out = append(*out, 0xc3)
		} else {
			*out = append(*out, 0xc2)
		}
	case int:
		appendInt(out, int64(x))
	case int64:
		appendInt(out, x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			appendInt(out, int64(x))
		} else {
			*out = append(*out, 0xcb)
			*out = binary.BigEndian.AppendUint64(*out, math.Float64bits(x))
		}
	case string:
		appendHeader(out, len(x), 0xa0, 31, 0xd9, 0xda, 0xdb)
		*out = append(*out, x...)
	case []interface{}:
		appendHeader(out, len(x), 0x90, 15, 0, 0xdc, 0xdd)
		for _, e := range x {
			if err := appendValue(out, e); err != nil {
				return err
			}
		}
	case map[string]interface{}:
		appendHeader(out, len(x), 0x80, 15, 0, 0xde, 0xdf)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := appendValue(out, k); err != nil {
				return err
			}
			if err := appendValue(out, x[k]); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("msgpack: cannot encode a %T", v)
	}
	return nil
}

// appendHeader writes a length prefix: the fix form up to fixMax, else the 8 (if any), 16 or
// 32 bit form.
func appendHeader(out *[]byte, n int, fix byte, fixMax int, c8, c16, c32 byte) {
	switch {
	case n <= fixMax:
		*out = append(*out, fix|byte(n))
	case c8 != 0 && n <= math.MaxUint8:
		*out = append(*out, c8, byte(n))
	case n <= math.MaxUint16:
		*out = append(*out, c16)
		*out = binary.BigEndian.AppendUint16(*out, uint16(n))
	default:
		*out = append(*out, c32)
		*out = binary.BigEndian.AppendUint32(*out, uint32(n))
	}
}

func appendInt(out *[]byte, n int64) {
	switch {
	case n >= 0 && n <= 127:
		*out = append(*out, byte(n))
	case n < 0 && n >= -32:
		*out = append(*out, byte(int8(n)))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		*out = append(*out, 0xd2)
		*out = binary.BigEndian.AppendUint32(*out, uint32(int32(n)))
	default:
		*out = append(*out, 0xd3)
		*out = binary.BigEndian.AppendUint64(*out, uint64(n))
	}
}

var errShort = errors.New("msgpack: message ends too early")

type reader struct {
	b []byte
	i int
}

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || r.i+n > len(r.b) {
		return nil, errShort
	}
	s := r.b[r.i : r.i+n]
	r.i += n
	return s, nil
}

func (r *reader) uint(n int) (uint64, error) {
	s, err := r.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range s {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// decodeMsgpack decodes one value: maps become map[string]interface{}, arrays []interface{},
// integers int64 (or uint64 above MaxInt64), floats float64, binary []byte.
func decodeMsgpack(b []byte) (interface{}, error) {
	r := &reader{b: b}
	return r.value(0)
}

func (r *reader) value(depth int) (interface{}, error) {
	if depth > 64 {
		return nil, errors.New("msgpack: nested too deeply")
	}
	c, err := r.take(1)
	if err != nil {
		return nil, err
	}
	t := c[0]
	switch {
	case t <= 0x7f:
		return int64(t), nil
	case t >= 0xe0:
		return int64(int8(t)), nil
	case t&0xf0 == 0x80:
		return r.mapOf(int(t&0x0f), depth)
	case t&0xf0 == 0x90:
		return r.arrayOf(int(t&0x0f), depth)
	case t&0xe0 == 0xa0:
		return r.str(int(t & 0x1f))
	}
	lengthOf := map[byte]int{0xc4: 1, 0xc5: 2, 0xc6: 4, 0xd9: 1, 0xda: 2, 0xdb: 4, 0xdc: 2, 0xdd: 4, 0xde: 2, 0xdf: 4, 0xc7: 1, 0xc8: 2, 0xc9: 4}
	if w, ok := lengthOf[t]; ok {
		n, err := r.uint(w)
		if err != nil {
			return nil, err
		}
		switch t {
		case 0xc4, 0xc5, 0xc6:
			s, err := r.take(int(n))
			return append([]byte(nil), s...), err
		case 0xd9, 0xda, 0xdb:
			return r.str(int(n))
		case 0xdc, 0xdd:
			return r.arrayOf(int(n), depth)
		case 0xde, 0xdf:
			return r.mapOf(int(n), depth)
		default: // ext 8/16/32: a type byte and n bytes, skipped
			_, err := r.take(int(n) + 1)
			return nil, err
		}
	}
	switch t {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xca:
		v, err := r.uint(4)
		return float64(math.Float32frombits(uint32(v))), err
	case 0xcb:
		v, err := r.uint(8)
		return math.Float64frombits(v), err
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := r.uint(1 << (t - 0xcc))
		if v > math.MaxInt64 {
			return v, err
		}
		return int64(v), err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		w := 1 << (t - 0xd0)
		v, err := r.uint(w)
		shift := uint(64 - 8*w)
		return int64(v<<shift) >> shift, err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1..16: a type byte and the data, skipped
		_, err := r.take(1 + (1 << (t - 0xd4)))
		return nil, err
	}
	return nil, fmt.Errorf("msgpack: unknown type byte 0x%02x", t)
}

func (r *reader) str(n int) (interface{}, error) {
	s, err := r.take(n)
	return string(s), err
}

func (r *reader) arrayOf(n int, depth int) (interface{}, error) {
	if n > len(r.b) {
		return nil, errShort
	}
	out := make([]interface{}, n)
	for i := range out {
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (r *reader) mapOf(n int, depth int) (interface{}, error) {
	if n > len(r.b) {
		return nil, errShort
	}
	out := make(map[string]interface{}, n)
	for i := 0; i < n; i++ {
		k, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[fmt.Sprint(k)] = v
	}
	return out, nil
}
