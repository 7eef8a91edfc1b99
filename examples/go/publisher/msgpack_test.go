package main

import (
	"encoding/hex"
	"os"
	"reflect"
	"testing"
)

// An event as the TypeScript services encode it (msgpackr: 16-bit map headers even for small
// maps, a large integer as float64, undefined as a 1-byte extension).
const tsEvent = "de0009a17601a56a6f624964a36a2d31a27473b8323032362d30312d30315430303a30303a30302e3030305a" +
	"a474797065ae7461736b732e70726f6772657373a57374616765a36d6170a4646f6e65cd012ca5746f74616cce00011170" +
	"a76d657373616765d92878787878787878787878787878787878787878787878787878787878787878787878787878787878" +
	"a464617461de0005a5726174696fcb3fd0000000000000a36e6567fba3626967cb4270000000000000a46c69737493c3c2c0" +
	"a66e6573746564de0002a175d40000a173a2c3a9"

func TestDecodesAnEventOfTheTypeScriptServices(t *testing.T) {
	b, _ := hex.DecodeString(tsEvent)
	v, err := decodeMsgpack(b)
	if err != nil {
		t.Fatal(err)
	}
	e := v.(map[string]interface{})
	if e["type"] != "tasks.progress" || e["done"] != int64(300) || e["total"] != int64(70000) || e["v"] != int64(1) {
		t.Fatalf("unexpected fields: %v", e)
	}
	if len(e["message"].(string)) != 40 {
		t.Fatalf("str8 message: %q", e["message"])
	}
	data := e["data"].(map[string]interface{})
	want := map[string]interface{}{
		"ratio": 0.25, "neg": int64(-5), "big": float64(1 << 40),
		"list":   []interface{}{true, false, nil},
		"nested": map[string]interface{}{"u": nil, "s": "é"},
	}
	if !reflect.DeepEqual(data, want) {
		t.Fatalf("data = %#v, want %#v", data, want)
	}
}

func TestRoundTripsAJobSpec(t *testing.T) {
	long := make([]interface{}, 20)
	for i := range long {
		long[i] = float64(i) - 10
	}
	spec := map[string]interface{}{
		"v": 1, "jobId": "go-1", "pipeline": "v2", "params": map[string]interface{}{
			"inputKey": "upload:abc", "groupSize": float64(3), "ratio": 0.5, "list": long, "flag": true, "none": nil,
			"big": float64(1 << 40), "neg": -100000, "text": string(make([]byte, 300)),
		},
	}
	b, err := encodeMsgpack(spec)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeMsgpack(b)
	if err != nil {
		t.Fatal(err)
	}
	p := v.(map[string]interface{})["params"].(map[string]interface{})
	if p["groupSize"] != int64(3) || p["big"] != int64(1<<40) || p["neg"] != int64(-100000) || p["ratio"] != 0.5 || p["flag"] != true || p["none"] != nil {
		t.Fatalf("params = %#v", p)
	}
	if l := p["list"].([]interface{}); len(l) != 20 || l[0] != int64(-10) || l[19] != int64(9) {
		t.Fatalf("list = %#v", l)
	}
	if len(p["text"].(string)) != 300 {
		t.Fatal("str16 text lost")
	}
}

func TestRefusesATruncatedMessage(t *testing.T) {
	b, _ := hex.DecodeString(tsEvent)
	if _, err := decodeMsgpack(b[:len(b)-3]); err == nil {
		t.Fatal("a truncated message decoded without an error")
	}
	if _, err := encodeMsgpack(map[string]interface{}{"c": make(chan int)}); err == nil {
		t.Fatal("a channel was encoded")
	}
}

// LLMXMR_TS_EVENT_HEX: an event the vitest encodes with the services' own codec at test time
// (tests/e2e/go-publisher.test.ts), so that a change of encoder is noticed here.
func TestDecodesAnEventEncodedNowByTheServicesCodec(t *testing.T) {
	h := os.Getenv("LLMXMR_TS_EVENT_HEX")
	if h == "" {
		t.Skip("LLMXMR_TS_EVENT_HEX not set (the vitest e2e sets it)")
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeMsgpack(b)
	if err != nil {
		t.Fatal(err)
	}
	e := v.(map[string]interface{})
	if e["type"] != "stage.finished" || e["stage"] != "reduce" || e["done"] != int64(12) || e["total"] != int64(100000) {
		t.Fatalf("unexpected event: %#v", e)
	}
	if d := e["data"].(map[string]interface{}); d["share"] != 0.75 || d["ok"] != true {
		t.Fatalf("unexpected data: %#v", d)
	}
}
