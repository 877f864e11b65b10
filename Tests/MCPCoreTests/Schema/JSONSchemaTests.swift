import Testing
@testable import MCPCore

/// The JSON Schema checker that tool results (and later tool arguments) go
/// through: keyword by keyword, `$ref` inside the schema only, and bounds
/// that keep a hostile schema from hanging the caller.
@Suite struct JSONSchemaTests {
    private func schema(_ text: String) throws -> JSONSchema {
        try JSONSchema(try JSONParser.parse(text))
    }

    /// The failure for `value`, or nil when it matches.
    private func failure(_ s: JSONSchema, _ value: String) throws -> JSONSchemaError? {
        do throws(JSONSchemaError) {
            try s.validate(try! JSONParser.parse(value))
            return nil
        } catch {
            return error
        }
    }

    // The weather tool of tools.mdx: the spec's own example.
    private let weather = """
    {"type":"object","properties":{"temperature":{"type":"number"},"conditions":{"type":"string"},
     "humidity":{"type":"number"}},"required":["temperature","conditions","humidity"]}
    """

    @Test func specExampleMatchesAndNamesTheFailingField() throws {
        let s = try schema(weather)
        #expect(try failure(s, #"{"temperature":22.5,"conditions":"Partly cloudy","humidity":65}"#) == nil)
        let wrong = try #require(try failure(s, #"{"temperature":"hot","conditions":"x","humidity":1}"#))
        #expect(wrong.kind == .violation && wrong.instancePath == "/temperature" && wrong.keyword == "type")
        #expect(wrong.description.contains("/temperature") && wrong.description.contains("expected number, got string"))
        let missing = try #require(try failure(s, #"{"temperature":1,"conditions":"x"}"#))
        #expect(missing.keyword == "required" && missing.instancePath == "/humidity")
        #expect(try failure(s, "[1]")?.keyword == "type")
    }

    @Test func typesIntegersAndUnions() throws {
        let s = try schema(#"{"type":["integer","null"]}"#)
        #expect(try failure(s, "3") == nil)
        #expect(try failure(s, "3.0") == nil)  // an integral number is an integer in 2020-12
        #expect(try failure(s, "null") == nil)
        #expect(try failure(s, "3.5")?.message == "expected integer or null, got number")
        #expect(try failure(s, "true") != nil)
        #expect(try failure(try schema("true"), #"{"a":1}"#) == nil)
        #expect(try failure(try schema("false"), "1")?.keyword == "false")
    }

    @Test func enumAndConstCompareAsJSON() throws {
        let e = try schema(#"{"enum":["a",1,{"x":[1,2]}]}"#)
        #expect(try failure(e, #""a""#) == nil)
        #expect(try failure(e, "1.0") == nil)
        #expect(try failure(e, #"{"x":[1,2.0]}"#) == nil)
        #expect(try failure(e, #""b""#)?.keyword == "enum")
        let c = try schema(#"{"const":{"a":1,"b":2}}"#)
        #expect(try failure(c, #"{"b":2,"a":1}"#) == nil)  // member order does not matter
        #expect(try failure(c, #"{"a":1}"#)?.keyword == "const")
    }

    @Test func numericBounds() throws {
        let s = try schema(#"{"minimum":1,"maximum":10,"exclusiveMaximum":10,"multipleOf":0.5}"#)
        #expect(try failure(s, "1") == nil)
        #expect(try failure(s, "9.5") == nil)
        #expect(try failure(s, "0")?.keyword == "minimum")
        #expect(try failure(s, "10")?.keyword == "exclusiveMaximum")
        #expect(try failure(s, "11")?.keyword == "maximum")
        #expect(try failure(s, "2.25")?.keyword == "multipleOf")
        #expect(try failure(try schema(#"{"multipleOf":3}"#), "10")?.keyword == "multipleOf")
        #expect(try failure(try schema(#"{"exclusiveMinimum":0}"#), "0")?.keyword == "exclusiveMinimum")
        #expect(try failure(try schema(#"{"minimum":5}"#), #""text""#) == nil)  // bounds apply to numbers only
    }

    @Test func stringLengthCountsCodePointsAndPatternSearches() throws {
        let s = try schema(#"{"type":"string","minLength":2,"maxLength":3,"pattern":"^[a-zé]+$"}"#)
        #expect(try failure(s, #""été""#) == nil)  // 3 code points, 5 UTF-8 bytes
        #expect(try failure(s, #""a""#)?.keyword == "minLength")
        #expect(try failure(s, #""abcd""#)?.keyword == "maxLength")
        #expect(try failure(s, #""AB""#)?.keyword == "pattern")
        #expect(try failure(try schema(#"{"pattern":"b"}"#), #""abc""#) == nil)  // unanchored
        #expect(try failure(try schema(#"{"pattern":"(["}"#), #""x""#)?.kind == .invalidSchema)
    }

    @Test func arrays() throws {
        let s = try schema(#"{"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"integer"},"minItems":1,"maxItems":4,"uniqueItems":true}"#)
        #expect(try failure(s, #"["a",1,2]"#) == nil)
        let bad = try #require(try failure(s, #"["a",1,"two"]"#))
        #expect(bad.instancePath == "/2" && bad.keyword == "type")
        #expect(try failure(s, #"[1]"#)?.instancePath == "/0")
        #expect(try failure(s, "[]")?.keyword == "minItems")
        #expect(try failure(s, #"["a",1,2,3,4]"#)?.keyword == "maxItems")
        #expect(try failure(s, #"["a",1,1.0]"#)?.keyword == "uniqueItems")
        let c = try schema(#"{"contains":{"const":7},"minContains":2,"maxContains":3}"#)
        #expect(try failure(c, "[7,1,7]") == nil)
        #expect(try failure(c, "[7,1]")?.keyword == "contains")
        #expect(try failure(c, "[7,7,7,7]")?.keyword == "maxContains")
    }

    @Test func objects() throws {
        let s = try schema("""
        {"type":"object","properties":{"id":{"type":"string"}},"patternProperties":{"^x-":{"type":"integer"}},
         "additionalProperties":false,"minProperties":1,"maxProperties":3,"dependentRequired":{"id":["x-n"]},
         "propertyNames":{"maxLength":5}}
        """)
        #expect(try failure(s, #"{"id":"a","x-n":1}"#) == nil)
        let extra = try #require(try failure(s, #"{"id":"a","x-n":1,"other":true}"#))
        #expect(extra.keyword == "additionalProperties" && extra.instancePath == "/other")
        #expect(try failure(s, #"{"x-n":"no"}"#)?.instancePath == "/x-n")
        #expect(try failure(s, #"{"id":"a"}"#)?.keyword == "dependentRequired")
        #expect(try failure(s, "{}")?.keyword == "minProperties")
        #expect(try failure(s, #"{"x-toolong":1}"#)?.keyword == "maxLength")
        let typed = try schema(#"{"additionalProperties":{"type":"boolean"}}"#)
        #expect(try failure(typed, #"{"a/b":1}"#)?.instancePath == "/a~1b")  // RFC 6901 escaping
    }

    @Test func composition() throws {
        let any = try schema(#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#)
        #expect(try failure(any, "1") == nil)
        let none = try #require(try failure(any, "true"))
        #expect(none.keyword == "anyOf" && none.message.contains("none of the 2"))
        let one = try schema(#"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#)
        #expect(try failure(one, "-1") == nil)
        #expect(try failure(one, "1")?.message.contains("matches 2 of the 2") == true)
        let all = try schema(#"{"allOf":[{"type":"integer"},{"minimum":0}]}"#)
        #expect(try failure(all, "-1")?.keyword == "minimum")
        #expect(try failure(try schema(#"{"not":{"type":"null"}}"#), "null")?.keyword == "not")
        let cond = try schema(#"{"if":{"properties":{"k":{"const":"n"}}},"then":{"properties":{"v":{"type":"number"}}},"else":{"properties":{"v":{"type":"string"}}}}"#)
        #expect(try failure(cond, #"{"k":"n","v":1}"#) == nil)
        #expect(try failure(cond, #"{"k":"s","v":1}"#)?.instancePath == "/v")
    }

    @Test func refsToDefsPointersAnchorsAndTheRoot() throws {
        let s = try schema("""
        {"$id":"https://example.com/cart","type":"object",
         "properties":{"items":{"type":"array","items":{"$ref":"#/$defs/item"}},
                       "owner":{"$ref":"#who"},"legacy":{"$ref":"#/definitions/old"},
                       "same":{"$ref":"https://example.com/cart#/$defs/item"},
                       "odd":{"$ref":"#/$defs/a~1b%20c"}},
         "$defs":{"item":{"type":"object","properties":{"price":{"type":"number","minimum":0}},"required":["price"]},
                  "person":{"$anchor":"who","type":"string"},"a/b c":{"type":"boolean"}},
         "definitions":{"old":{"type":"integer"}}}
        """)
        #expect(try failure(s, #"{"items":[{"price":1},{"price":2.5}],"owner":"ann","legacy":1,"same":{"price":0},"odd":true}"#) == nil)
        let price = try #require(try failure(s, #"{"items":[{"price":1},{"price":-2}]}"#))
        #expect(price.instancePath == "/items/1/price" && price.keyword == "minimum")
        #expect(try failure(s, #"{"owner":1}"#)?.instancePath == "/owner")
        #expect(try failure(s, #"{"legacy":"x"}"#)?.instancePath == "/legacy")
        #expect(try failure(s, #"{"odd":1}"#)?.instancePath == "/odd")
    }

    @Test func recursiveSchemaConsumingTheValueIsFine() throws {
        let tree = try schema(##"{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#"}}},"required":["v"]}"##)
        #expect(try failure(tree, #"{"v":1,"kids":[{"v":2,"kids":[{"v":3}]},{"v":4}]}"#) == nil)
        #expect(try failure(tree, #"{"v":1,"kids":[{"v":2,"kids":[{}]}]}"#)?.instancePath == "/kids/0/kids/0/v")
    }

    @Test func externalAndMissingRefsAreRefusedUpFrontNeverFetched() throws {
        for ref in ["https://canary.example.com/schema.json", "http://127.0.0.1/x#/a", "other.json#/a",
                    "#/$defs/nope", "#nowhere", "#/$defs/n/0"] {
            #expect(throws: JSONSchemaError.self) { try schema(#"{"properties":{"a":{"$ref":"\#(ref)"}},"$defs":{"n":{"type":"string"}}}"#) }
            do {
                _ = try schema(#"{"properties":{"a":{"$ref":"\#(ref)"}},"$defs":{"n":{"type":"string"}}}"#)
            } catch let e as JSONSchemaError {
                #expect(e.kind == .unresolvedRef && e.keyword == "$ref")
            }
        }
        // A $ref inside const/enum/default data is data, not a reference.
        #expect(try failure(try schema(#"{"const":{"$ref":"https://x.example/y"}}"#), #"{"$ref":"https://x.example/y"}"#) == nil)
    }

    @Test func cyclesEndWithAnErrorNotAHang() throws {
        for text in [##"{"$ref":"#"}"##, ##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}"##,
                     ##"{"anyOf":[{"$ref":"#"}]}"##, ##"{"properties":{"x":{"allOf":[{"$ref":"#/properties/x"}]}}}"##] {
            let s = try schema(text)
            let value = text.contains("properties") ? #"{"x":1}"# : "1"
            #expect(try failure(s, value)?.kind == .refCycle, "\(text)")
        }
    }

    @Test func costlySchemasHitTheirBounds() throws {
        // Each level evaluates the one below twice: 2^30 evaluations without the step bound.
        var defs = JSONObject()
        defs["d0"] = .object(JSONObject(["type": "integer"]))
        for i in 1...30 {
            let below = JSONValue.object(JSONObject(["$ref": .string("#/$defs/d\(i - 1)")]))
            defs["d\(i)"] = .object(JSONObject(["anyOf": [.object(JSONObject(["not": below])), below]]))
        }
        let wide = try JSONSchema(.object(JSONObject(["$defs": .object(defs), "$ref": "#/$defs/d30"])), maxSteps: 10_000)
        #expect(try failure(wide, "1")?.kind == .tooComplex)
        var deep = "true"
        for _ in 0..<200 { deep = #"{"allOf":[\#(deep)]}"# }
        let parsed = try JSONParser.parse(deep, maxDepth: 1024)
        let d = try JSONSchema(parsed, limits: SchemaLimits(maxSchemaDepth: 1024, maxEvaluationDepth: 64))
        #expect(try failure(d, "1")?.kind == .tooComplex)
        // With the default limits such a document is refused when it is made (SEP-2106).
        let refused = #expect(throws: JSONSchemaError.self) { try JSONSchema(parsed) }
        #expect(refused?.kind == .tooComplex)
        var many = JSONObject()
        for i in 0..<50 { many["d\(i)"] = .object(JSONObject(["type": "integer"])) }
        let manyDefs = JSONValue.object(JSONObject(["$defs": .object(many)]))
        let tooMany = #expect(throws: JSONSchemaError.self) { try JSONSchema(manyDefs, limits: SchemaLimits(maxSubschemas: 20)) }
        #expect(tooMany?.message == "the schema has more than 20 subschemas")
        #expect(throws: Never.self) { try JSONSchema(manyDefs, limits: SchemaLimits(maxSubschemas: 60)) }
    }

    @Test func referencesResolveInsideTheDocumentOnly() throws {
        // $id-relative references, embedded resources, $anchor in an embedded resource.
        let s = try schema(##"{"$id":"https://example.com/root.json","type":"object","properties":{"##
            + ##""a":{"$ref":"item.json"},"b":{"$ref":"https://example.com/root.json#/$defs/n"},"##
            + ##""c":{"$ref":"item.json#big"}},"$defs":{"n":{"type":"integer"},"##
            + ##""item":{"$id":"item.json","type":"string","$defs":{"big":{"$anchor":"big","minLength":3}}}}}"##)
        #expect(s.matches(try JSONParser.parse(#"{"a":"x","b":1,"c":"long"}"#)))
        #expect(try failure(s, #"{"a":1}"#)?.instancePath == "/a")
        #expect(try failure(s, #"{"b":"1"}"#)?.instancePath == "/b")
        #expect(try failure(s, #"{"c":"ab"}"#)?.keyword == "minLength")
        for remote in [#"{"$ref":"https://example.com/other.json"}"#, #"{"$ref":"other.json#/x"}"#,
                       #"{"$id":"https://a.example/s","$ref":"https://b.example/s"}"#] {
            let e = #expect(throws: JSONSchemaError.self) { try schema(remote) }
            #expect(e?.kind == .unresolvedRef && e?.message.contains("never fetched") == true, "\(remote)")
        }
    }

    @Test func schemaThatIsNotASchemaIsInvalid() throws {
        #expect(throws: JSONSchemaError.self) { try schema("[1]") }
        #expect(try failure(try schema(#"{"required":"a"}"#), "{}")?.kind == .invalidSchema)
        #expect(try failure(try schema(#"{"minLength":-1}"#), #""a""#)?.kind == .invalidSchema)
        #expect(try failure(try schema(#"{"properties":{"a":3}}"#), #"{"a":1}"#)?.kind == .invalidSchema)
        #expect(try schema(#"{"format":"email","title":"t"}"#).matches(.string("not an email")))
    }
}
