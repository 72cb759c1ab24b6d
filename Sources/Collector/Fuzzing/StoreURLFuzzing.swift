/// Entry point for fuzzing the `--store` / `--store-replica` URL (`PostgresLocation`): any text
/// is accepted or refused with `badLocation`, never trapped on; an accepted URL has a port in
/// range, a user and a database, and yields a connection configuration; neither what it prints
/// nor the refusal shows a password given as `USER:PASSWORD@`. Public for the libFuzzer target
/// in `Fuzz/`; the property tests call it too.
public enum StoreURLFuzzing {
    public static func check(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        for candidate in [text, "postgres://" + text, "postgres://u:fuzz-secret-\(input.count)@" + text] {
            let secret = candidate.hasPrefix("postgres://u:fuzz-secret-") ? "fuzz-secret-\(input.count)" : nil
            do {
                let location = try PostgresLocation(url: candidate)
                precondition((1...65535).contains(location.port) && !location.user.isEmpty && !location.database.isEmpty,
                             "accepted \(candidate) with port \(location.port), user '\(location.user)', database '\(location.database)'")
                _ = try? location.configuration()
                if let secret, location.password == secret {
                    precondition(!location.description.contains(secret), "\(location.description) shows the password")
                }
            } catch {
                if let secret, !text.contains(secret) {
                    precondition(!error.description.contains(secret), "the refusal of a URL shows its password: \(error.description)")
                }
            }
        }
    }
}
