import MCPRuntime

/// Why a paginated list could not be read to its end.
public enum ListFailure: Error, Sendable, Equatable {
    /// Not one of the paginated list methods.
    case unknownMethod(String)
    /// A page request failed.
    case request(RequestFailure)
    /// A page request could not be sent (the server did not declare the
    /// capability, or the session is not initialized).
    case refused(CallFailure)
    /// The server gave a page that is not a list result.
    case malformedPage(String)
    /// The server keeps paging: more pages than the bound, or a cursor it gave
    /// before (it would loop forever).
    case endless(String)
}

/// Reads every page of a paginated list (tools/list, resources/list, ...),
/// following nextCursor: pure state, fed one page result at a time, so the
/// same rules hold whichever thread or binding drives it.
///
/// The listing ends at a page whose nextCursor is absent, null or empty. A
/// page with no items but a cursor is followed (a server may filter a page
/// down to nothing). A cursor seen before, or more than `maxPages` pages,
/// ends the listing with `.endless` instead of looping.
public struct ListPager: Sendable {
    /// The paginated methods and the member that holds each one's items.
    public static let itemKeys: [String: String] = [
        "tools/list": "tools", "resources/list": "resources", "resources/templates/list": "resourceTemplates",
        "prompts/list": "prompts", "tasks/list": "tasks",
    ]
    public static let defaultMaxPages = 10_000

    public let method: String
    public let itemKey: String
    public let maxPages: Int
    public private(set) var items: [JSONValue] = []
    /// The cursor to send with the next page request (nil for the first page).
    public private(set) var cursor: String?
    private var seen: Set<String> = []
    private var pages = 0

    public init(method: String, maxPages: Int = ListPager.defaultMaxPages) throws(ListFailure) {
        guard let key = Self.itemKeys[method] else { throw .unknownMethod(method) }
        self.method = method
        itemKey = key
        self.maxPages = maxPages
    }

    /// The params of the next page request.
    public var nextParams: JSONObject? { cursor.map { JSONObject(["cursor": .string($0)]) } }

    /// Takes one page; returns true when another page is to be fetched.
    public mutating func take(_ page: JSONValue) throws(ListFailure) -> Bool {
        guard case .object(let result) = page else { throw .malformedPage("\(method): the result is not an object") }
        switch result[itemKey] {
        case nil, .null?: break
        case .array(let a)?: items += a
        default: throw .malformedPage("\(method): \"\(itemKey)\" is not an array")
        }
        pages += 1
        let next: String
        switch result["nextCursor"] {
        case nil, .null?: return false
        case .string(let s)?: next = s
        default: throw .malformedPage("\(method): \"nextCursor\" is not a string")
        }
        if next.isEmpty { return false }
        guard seen.insert(next).inserted else {
            throw .endless("\(method): the server gave cursor \"\(next.prefix(100))\" again after \(pages) pages")
        }
        guard pages < maxPages else { throw .endless("\(method): more than \(maxPages) pages") }
        cursor = next
        return true
    }
}

/// A listing in progress (ClientSession.listAll): which request carries its
/// current page, so that it can be cancelled as a whole.
public final class Listing: Sendable {
    private struct State {
        var current: RequestID?
        var page = 0
        var first: RequestID?
        var cancelled: String??
    }

    private let state = LockedState(State())
    private weak let session: ClientSession?

    init(session: ClientSession) { self.session = session }

    /// The id of the first page request: the listing's name for cancel.
    public var id: RequestID? { state.withLock { $0.first } }

    /// Stops the listing: the page in flight is cancelled (the server is
    /// told), no further page is asked for, and the completion gets
    /// `.request(.cancelled)`.
    public func cancel(reason: String?) {
        let current = state.withLock { s -> RequestID? in
            if s.cancelled != nil { return nil }
            s.cancelled = .some(reason)
            return s.current
        }
        if let current { session?.cancel(current, reason: reason) }
    }

    /// Records the request of page `page` (0 first), which went out just
    /// now; false once cancelled. A later page may be recorded first (its
    /// answer came quickly): an older page never replaces it.
    fileprivate func sent(_ id: RequestID?, page: Int) -> Bool {
        state.withLock { s -> Bool in
            if page == 0 { s.first = id }
            if page >= s.page {
                s.page = page
                s.current = id
            }
            return s.cancelled == nil
        }
    }

    fileprivate var isCancelled: Bool { state.withLock { $0.cancelled != nil } }
}

extension ClientSession {
    /// Every item of a paginated list: one request per page, each with
    /// `timing`. `completion` runs once, on a worker thread; so does each
    /// next page request (never the thread that read the answer).
    @discardableResult
    public func listAll(method: String, timing: RequestTiming? = nil,
                        completion: @escaping @Sendable (Result<[JSONValue], ListFailure>) -> Void) -> Listing
    {
        let listing = Listing(session: self)
        let pager: ListPager
        do throws(ListFailure) { pager = try ListPager(method: method) } catch {
            completion(.failure(error))
            return listing
        }
        nextPage(pager, listing, page: 0, timing: timing, completion: completion)
        return listing
    }

    private func nextPage(_ pager: ListPager, _ listing: Listing, page: Int, timing: RequestTiming?,
                          completion: @escaping @Sendable (Result<[JSONValue], ListFailure>) -> Void)
    {
        guard !listing.isCancelled else { return completion(.failure(.request(.cancelled))) }
        let id: RequestID?
        do throws(CallFailure) {
            id = try request(method: pager.method, params: pager.nextParams, timing: timing) { [weak self] outcome in
                var pager = pager
                switch outcome {
                case .failure(let f): return completion(.failure(.request(f)))
                case .success(let result):
                    do throws(ListFailure) {
                        guard try pager.take(result) else { return completion(.success(pager.items)) }
                    } catch {
                        return completion(.failure(error))
                    }
                }
                guard let self else { return completion(.failure(.request(.closed))) }
                self.nextPage(pager, listing, page: page + 1, timing: timing, completion: completion)
            }
        } catch {
            return completion(.failure(.refused(error)))
        }
        // Cancelled between the check above and now: the page just sent goes too.
        if !listing.sent(id, page: page), let id { cancel(id, reason: nil) }
    }
}
