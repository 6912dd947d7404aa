//! The block-sync request-response codec: raw byte frames with named size bounds.

use std::io;

use async_trait::async_trait;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{request_response, StreamProtocol};

use super::config::{SYNC_REQUEST_BYTES_MAX, SYNC_RESPONSE_BYTES_MAX};

/// The block-sync request-response protocol.
pub(super) const SYNC_PROTOCOL: &str = "/jeon/sync/1";
/// The state-sync request-response protocol (offered checkpoints, their chunks): the
/// same framing and bounds as block sync, its own streams (docs/network.md).
pub(super) const SNAPSHOT_PROTOCOL: &str = "/jeon/snapshot/1";
/// First byte of every sync response (see [`SyncCodec`]).
pub(super) const RESPONSE_TAG: u8 = 1;
/// Sync frames are raw bytes up to the stream's end; the sender closes its side after
/// writing. Reads stop one byte past the limit, so an oversized frame is an error, never
/// an allocation beyond the limit. A response starts with [`RESPONSE_TAG`]: libp2p closes
/// the stream cleanly when a request goes unanswered, and without the tag that would read
/// as an empty response instead of a failure.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SyncCodec;

#[async_trait]
impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, SYNC_REQUEST_BYTES_MAX).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut tag = [0u8; 1];
        if io.read_exact(&mut tag).await.is_err() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "no response: the peer refused or dropped the request",
            ));
        }
        if tag[0] != RESPONSE_TAG {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a sync response",
            ));
        }
        read_bounded(io, SYNC_RESPONSE_BYTES_MAX).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        data: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&data).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        data: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&[RESPONSE_TAG]).await?;
        io.write_all(&data).await
    }
}

async fn read_bounded<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    bytes_max: u64,
) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    io.take(bytes_max.saturating_add(1))
        .read_to_end(&mut data)
        .await?;
    if data.len() as u64 > bytes_max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("sync frame over {bytes_max} bytes"),
        ));
    }
    Ok(data)
}
