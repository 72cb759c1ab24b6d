import Testing
@Test func stub() { #expect(true) }
