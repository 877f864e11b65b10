/// A channel whose connection can end while its request goes on: the client
/// reconnects and resumes the stream where it left off (Streamable HTTP's SSE
/// polling, SEP-1699). Transports that cannot resume do not adopt it.
public protocol ResumableChannel: MessageChannel {
    /// Ends the connection now carrying this channel's messages; later ones are
    /// kept for the client to fetch when it resumes. False when not possible.
    func closeConnection() -> Bool
}

extension ServerCall {
    /// Ends the connection that carries this call's stream; the call goes on
    /// and the client resumes. False when the call is answered or its
    /// transport cannot resume (stdio, WebSocket, stateless or legacy HTTP).
    public func closeStream() -> Bool {
        guard !isAnswered, let channel = channel as? ResumableChannel else { return false }
        return channel.closeConnection()
    }
}
