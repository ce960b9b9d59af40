//! The simulated guest's VNC server: the server side of RFB 3.3, 3.7 and
//! 3.8 (RFC 6143) for a plain screen, written without I/O so that the
//! proxy feeds it what the client sent and sends back what it answers.
//!
//! The server offers security type None only, answers ClientInit with a
//! ServerInit (the screen's size, a 32-bit true-colour pixel format, the
//! instance's name as the desktop name), answers a FramebufferUpdateRequest
//! with one Raw rectangle in the client's pixel format, and reads and
//! ignores key, pointer and cut-text events. Anything it cannot read is an
//! [`RfbError`]: the proxy closes the connection.

/// The protocol version the server announces.
pub const SERVER_VERSION: &[u8; 12] = b"RFB 003.008\n";

/// The security type "None" (RFC 6143 §7.2.1).
const SECURITY_NONE: u8 = 1;

/// The Raw encoding (RFC 6143 §7.7.1).
const ENCODING_RAW: i32 = 0;

/// The most cut text a client may send at once; more is taken for garbage.
pub const MAX_CUT_TEXT: usize = 1 << 20;

/// What the server shows: a screen of one colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desktop {
    /// Framebuffer width in pixels.
    pub width: u16,
    /// Framebuffer height in pixels.
    pub height: u16,
    /// The desktop name (the instance's name).
    pub name: String,
    /// The screen's colour, red, green and blue.
    pub colour: [u8; 3],
}

impl Desktop {
    /// The simulated guest's console: 800x600, dark grey, named `name`.
    pub fn plain(name: &str) -> Self {
        Desktop {
            width: 800,
            height: 600,
            name: name.to_owned(),
            colour: [0x20, 0x20, 0x20],
        }
    }
}

/// How pixels are written (RFC 6143 §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelFormat {
    /// 8, 16 or 32.
    pub bits_per_pixel: u8,
    /// Useful bits of a pixel.
    pub depth: u8,
    /// Whether multi-byte pixels are big-endian.
    pub big_endian: bool,
    /// True colour (else a colour map).
    pub true_colour: bool,
    /// Largest red value.
    pub red_max: u16,
    /// Largest green value.
    pub green_max: u16,
    /// Largest blue value.
    pub blue_max: u16,
    /// Shift of red in a pixel.
    pub red_shift: u8,
    /// Shift of green in a pixel.
    pub green_shift: u8,
    /// Shift of blue in a pixel.
    pub blue_shift: u8,
}

impl PixelFormat {
    /// The server's own format: 32 bits, depth 24, little-endian, 8 bits
    /// per colour (what QEMU announces and noVNC asks for).
    pub const TRUE_COLOUR_32: PixelFormat = PixelFormat {
        bits_per_pixel: 32,
        depth: 24,
        big_endian: false,
        true_colour: true,
        red_max: 255,
        green_max: 255,
        blue_max: 255,
        red_shift: 16,
        green_shift: 8,
        blue_shift: 0,
    };

    /// The 16 bytes of the wire form.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[0] = self.bits_per_pixel;
        out[1] = self.depth;
        out[2] = u8::from(self.big_endian);
        out[3] = u8::from(self.true_colour);
        out[4..6].copy_from_slice(&self.red_max.to_be_bytes());
        out[6..8].copy_from_slice(&self.green_max.to_be_bytes());
        out[8..10].copy_from_slice(&self.blue_max.to_be_bytes());
        out[10] = self.red_shift;
        out[11] = self.green_shift;
        out[12] = self.blue_shift;
        out
    }

    /// Reads the wire form; a size other than 8, 16 or 32 bits is refused.
    pub fn from_bytes(bytes: &[u8; 16]) -> Result<Self, RfbError> {
        let bits_per_pixel = bytes[0];
        if !matches!(bits_per_pixel, 8 | 16 | 32) {
            return Err(RfbError::PixelFormat(bits_per_pixel));
        }
        Ok(PixelFormat {
            bits_per_pixel,
            depth: bytes[1],
            big_endian: bytes[2] != 0,
            true_colour: bytes[3] != 0,
            red_max: u16::from_be_bytes([bytes[4], bytes[5]]),
            green_max: u16::from_be_bytes([bytes[6], bytes[7]]),
            blue_max: u16::from_be_bytes([bytes[8], bytes[9]]),
            red_shift: bytes[10],
            green_shift: bytes[11],
            blue_shift: bytes[12],
        })
    }

    /// `colour` as one pixel in this format. Without true colour the
    /// pixel is entry 0 of a colour map the server never sets.
    pub fn pixel(self, colour: [u8; 3]) -> Vec<u8> {
        let value = if self.true_colour {
            let scale = |c: u8, max: u16, shift: u8| -> u32 {
                let scaled = u32::from(c) * u32::from(max) / 255;
                scaled.checked_shl(u32::from(shift)).unwrap_or(0)
            };
            scale(colour[0], self.red_max, self.red_shift)
                | scale(colour[1], self.green_max, self.green_shift)
                | scale(colour[2], self.blue_max, self.blue_shift)
        } else {
            0
        };
        let bytes = usize::from(self.bits_per_pixel / 8);
        if self.big_endian {
            value.to_be_bytes()[4 - bytes..].to_vec()
        } else {
            value.to_le_bytes()[..bytes].to_vec()
        }
    }
}

/// Why a session ends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RfbError {
    /// The client's ProtocolVersion is not `RFB xxx.yyy\n`.
    #[error("not an RFB protocol version: {0:?}")]
    Version(String),
    /// The client chose a security type the server did not offer.
    #[error("security type {0} was not offered")]
    Security(u8),
    /// A SetPixelFormat of a pixel size RFB does not have.
    #[error("unsupported pixel size of {0} bits")]
    PixelFormat(u8),
    /// A client message of an unknown type.
    #[error("unknown client message type {0}")]
    MessageType(u8),
    /// A ClientCutText longer than [`MAX_CUT_TEXT`].
    #[error("cut text of {0} bytes is too long")]
    CutText(usize),
}

impl RfbError {
    /// What the server says before it closes, if anything: RFB 3.8 tells
    /// a client why its security type was refused (RFC 6143 §7.1.3).
    pub fn farewell(&self, version: Version) -> Option<Vec<u8>> {
        match (self, version) {
            (RfbError::Security(_), Version::V3_8) => {
                let reason = b"Only security type None is supported";
                let mut out = 1u32.to_be_bytes().to_vec();
                out.extend_from_slice(&(reason.len() as u32).to_be_bytes());
                out.extend_from_slice(reason);
                Some(out)
            }
            _ => None,
        }
    }
}

/// The protocol version a session speaks: the client's, within what the
/// server announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// RFB 3.3: the server picks the security type.
    V3_3,
    /// RFB 3.7: the client picks, no SecurityResult for None.
    V3_7,
    /// RFB 3.8.
    V3_8,
}

impl Version {
    /// The version of a client's 12-byte ProtocolVersion: 3.7 and 3.8 as
    /// they are, a later one as 3.8 (the server's), any other 3.x as 3.3
    /// (RFC 6143 §7.1.1: unknown versions are 3.3).
    fn parse(bytes: &[u8]) -> Result<Self, RfbError> {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = bytes.get(range)?;
            part.iter()
                .all(u8::is_ascii_digit)
                .then(|| std::str::from_utf8(part).ok()?.parse().ok())?
        };
        let well_formed = bytes.len() == 12
            && bytes.starts_with(b"RFB ")
            && bytes[7] == b'.'
            && bytes[11] == b'\n';
        let (Some(major), Some(minor)) = (digits(4..7), digits(8..11)) else {
            return Err(RfbError::Version(text));
        };
        if !well_formed || major < 3 {
            return Err(RfbError::Version(text));
        }
        Ok(match (major, minor) {
            (3, 7) => Version::V3_7,
            (3, m) if m >= 8 => Version::V3_8,
            (3, _) => Version::V3_3,
            _ => Version::V3_8,
        })
    }
}

/// One message read: the bytes it took and the server's replies; `None`
/// while it is not all there.
type Step = Option<(usize, Vec<Vec<u8>>)>;

/// Where the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the client's ProtocolVersion.
    Version,
    /// Waiting for the client's choice of security type (3.7, 3.8).
    Security,
    /// Waiting for ClientInit.
    ClientInit,
    /// Initialised: client messages.
    Running,
}

/// One client's session with the server.
#[derive(Debug)]
pub struct Session {
    desktop: Desktop,
    phase: Phase,
    version: Version,
    format: PixelFormat,
    encodings: Vec<i32>,
    /// Whether the client has been sent the whole screen: after that an
    /// incremental update request has nothing to answer (the screen never
    /// changes), and the server stays silent until a full one is asked.
    painted: bool,
    /// Bytes received and not yet read.
    pending: Vec<u8>,
}

impl Session {
    /// A session showing `desktop`; the server speaks first: send
    /// [`SERVER_VERSION`].
    pub fn new(desktop: Desktop) -> Self {
        Session {
            desktop,
            phase: Phase::Version,
            version: Version::V3_8,
            format: PixelFormat::TRUE_COLOUR_32,
            encodings: Vec::new(),
            painted: false,
            pending: Vec::new(),
        }
    }

    /// The version the session speaks (3.8 until the client said).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The pixel format the client asked for (the server's until then).
    pub fn pixel_format(&self) -> PixelFormat {
        self.format
    }

    /// The encodings of the client's last SetEncodings, in its order.
    pub fn encodings(&self) -> &[i32] {
        &self.encodings
    }

    /// Whether the handshake is done (ServerInit sent).
    pub fn initialised(&self) -> bool {
        self.phase == Phase::Running
    }

    /// Takes `input` from the client and returns the server's messages,
    /// each to be sent as it is (one WebSocket frame each). Input may
    /// split or join messages anyhow. An error ends the session: send its
    /// [`RfbError::farewell`], if any, and close.
    pub fn receive(&mut self, input: &[u8]) -> Result<Vec<Vec<u8>>, RfbError> {
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(input);
        let mut replies = Vec::new();
        let mut at = 0;
        let result = loop {
            match self.step(&pending[at..]) {
                Ok(Some((used, reply))) => {
                    at += used;
                    replies.extend(reply);
                }
                Ok(None) => break Ok(replies),
                Err(err) => break Err(err),
            }
        };
        pending.drain(..at);
        self.pending = pending;
        result
    }

    /// Reads one message from the front of `input`: `None` when it is not
    /// all there yet, else the bytes it took and the replies.
    fn step(&mut self, input: &[u8]) -> Result<Step, RfbError> {
        match self.phase {
            Phase::Version => {
                if input.len() < 12 {
                    return Ok(None);
                }
                self.version = Version::parse(&input[..12])?;
                let reply = match self.version {
                    Version::V3_3 => {
                        // The server decides: None, then straight to ClientInit.
                        self.phase = Phase::ClientInit;
                        u32::from(SECURITY_NONE).to_be_bytes().to_vec()
                    }
                    Version::V3_7 | Version::V3_8 => {
                        self.phase = Phase::Security;
                        vec![1, SECURITY_NONE]
                    }
                };
                Ok(Some((12, vec![reply])))
            }
            Phase::Security => {
                let Some(&chosen) = input.first() else {
                    return Ok(None);
                };
                if chosen != SECURITY_NONE {
                    return Err(RfbError::Security(chosen));
                }
                self.phase = Phase::ClientInit;
                let replies = match self.version {
                    // SecurityResult OK; 3.7 sends none for None.
                    Version::V3_8 => vec![0u32.to_be_bytes().to_vec()],
                    _ => Vec::new(),
                };
                Ok(Some((1, replies)))
            }
            Phase::ClientInit => {
                if input.is_empty() {
                    return Ok(None);
                }
                // The shared flag does not matter: every client sees the
                // same plain screen.
                self.phase = Phase::Running;
                Ok(Some((1, vec![self.server_init()])))
            }
            Phase::Running => self.client_message(input),
        }
    }

    fn server_init(&self) -> Vec<u8> {
        let name = self.desktop.name.as_bytes();
        let mut out = Vec::with_capacity(24 + name.len());
        out.extend_from_slice(&self.desktop.width.to_be_bytes());
        out.extend_from_slice(&self.desktop.height.to_be_bytes());
        out.extend_from_slice(&PixelFormat::TRUE_COLOUR_32.to_bytes());
        out.extend_from_slice(&(name.len() as u32).to_be_bytes());
        out.extend_from_slice(name);
        out
    }

    /// One client-to-server message (RFC 6143 §7.5).
    fn client_message(&mut self, input: &[u8]) -> Result<Step, RfbError> {
        let Some(&kind) = input.first() else {
            return Ok(None);
        };
        let need = |len: usize| (input.len() >= len).then_some(len);
        match kind {
            // SetPixelFormat: 3 padding bytes, the format.
            0 => {
                let Some(len) = need(20) else { return Ok(None) };
                let mut format = [0u8; 16];
                format.copy_from_slice(&input[4..20]);
                self.format = PixelFormat::from_bytes(&format)?;
                Ok(Some((len, Vec::new())))
            }
            // SetEncodings: padding, a count, the encodings.
            2 => {
                if input.len() < 4 {
                    return Ok(None);
                }
                let count = usize::from(u16::from_be_bytes([input[2], input[3]]));
                let Some(len) = need(4 + 4 * count) else {
                    return Ok(None);
                };
                self.encodings = input[4..len]
                    .chunks_exact(4)
                    .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                Ok(Some((len, Vec::new())))
            }
            // FramebufferUpdateRequest: incremental, x, y, width, height.
            3 => {
                let Some(len) = need(10) else { return Ok(None) };
                let word = |at: usize| u16::from_be_bytes([input[at], input[at + 1]]);
                let incremental = input[1] != 0;
                let reply = self.update(incremental, word(2), word(4), word(6), word(8));
                Ok(Some((len, reply.into_iter().collect())))
            }
            // KeyEvent: down flag, padding, key; nothing to do with it.
            4 => Ok(need(8).map(|len| (len, Vec::new()))),
            // PointerEvent: button mask, x, y.
            5 => Ok(need(6).map(|len| (len, Vec::new()))),
            // ClientCutText: padding, a length, the text. A negative
            // length is the extended clipboard's (its size is the
            // absolute value).
            6 => {
                if input.len() < 8 {
                    return Ok(None);
                }
                let length = i32::from_be_bytes([input[4], input[5], input[6], input[7]]);
                let text = length.unsigned_abs() as usize;
                if text > MAX_CUT_TEXT {
                    return Err(RfbError::CutText(text));
                }
                Ok(need(8 + text).map(|len| (len, Vec::new())))
            }
            other => Err(RfbError::MessageType(other)),
        }
    }

    /// The FramebufferUpdate answering a request for `x, y, width, height`:
    /// the part of it on the screen as one Raw rectangle; nothing for an
    /// incremental request once the screen was sent (it never changes).
    fn update(
        &mut self,
        incremental: bool,
        x: u16,
        y: u16,
        width: u16,
        height: u16,
    ) -> Option<Vec<u8>> {
        if incremental && self.painted {
            return None;
        }
        let x = x.min(self.desktop.width);
        let y = y.min(self.desktop.height);
        let width = width.min(self.desktop.width - x);
        let height = height.min(self.desktop.height - y);
        if x == 0 && y == 0 && width == self.desktop.width && height == self.desktop.height {
            self.painted = true;
        }
        let pixel = self.format.pixel(self.desktop.colour);
        let area = usize::from(width) * usize::from(height);
        let mut out = Vec::with_capacity(16 + area * pixel.len());
        // Message type 0, padding, one rectangle.
        out.extend_from_slice(&[0, 0, 0, 1]);
        for value in [x, y, width, height] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        out.extend_from_slice(&ENCODING_RAW.to_be_bytes());
        for _ in 0..area {
            out.extend_from_slice(&pixel);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desktop() -> Desktop {
        Desktop {
            width: 4,
            height: 2,
            name: "vm-1".to_owned(),
            colour: [0x10, 0x20, 0x30],
        }
    }

    /// A session past the 3.8 handshake.
    fn running() -> Session {
        let mut session = Session::new(desktop());
        session.receive(b"RFB 003.008\n").unwrap();
        session.receive(&[1]).unwrap();
        session.receive(&[1]).unwrap();
        assert!(session.initialised());
        session
    }

    #[test]
    fn a_3_8_handshake_offers_none_confirms_it_and_describes_the_screen() {
        let mut session = Session::new(desktop());
        assert_eq!(session.receive(b"RFB 003.008\n").unwrap(), vec![vec![1, 1]]);
        assert_eq!(session.receive(&[1]).unwrap(), vec![vec![0, 0, 0, 0]]);
        let init = session.receive(&[1]).unwrap();
        let mut expected = vec![0, 4, 0, 2, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0];
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 4]);
        expected.extend_from_slice(b"vm-1");
        assert_eq!(init, vec![expected]);
        assert_eq!(session.version(), Version::V3_8);
    }

    #[test]
    fn a_3_3_client_is_told_none_and_a_3_7_client_gets_no_security_result() {
        let mut old = Session::new(desktop());
        assert_eq!(
            old.receive(b"RFB 003.003\n").unwrap(),
            vec![vec![0, 0, 0, 1]]
        );
        assert_eq!(old.receive(&[0]).unwrap().len(), 1);
        assert!(old.initialised());

        let mut v37 = Session::new(desktop());
        assert_eq!(v37.receive(b"RFB 003.007\n").unwrap(), vec![vec![1, 1]]);
        assert_eq!(v37.receive(&[1]).unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(v37.receive(&[1]).unwrap().len(), 1);
        assert_eq!(v37.version(), Version::V3_7);
    }

    #[test]
    fn later_versions_speak_3_8_and_unknown_3_x_speaks_3_3() {
        assert_eq!(Version::parse(b"RFB 003.889\n"), Ok(Version::V3_8));
        assert_eq!(Version::parse(b"RFB 004.001\n"), Ok(Version::V3_8));
        assert_eq!(Version::parse(b"RFB 003.005\n"), Ok(Version::V3_3));
    }

    #[test]
    fn a_handshake_split_and_joined_anyhow_gets_the_same_answers() {
        let mut session = Session::new(desktop());
        assert!(session.receive(b"RFB 00").unwrap().is_empty());
        let replies = session.receive(b"3.008\n\x01\x01").unwrap();
        assert_eq!(replies.len(), 3);
        assert_eq!(replies[1], vec![0, 0, 0, 0]);
        assert_eq!(&replies[2][20..24], &[0, 0, 0, 4]);
    }

    #[test]
    fn garbage_instead_of_a_version_ends_the_session() {
        let mut session = Session::new(desktop());
        assert_eq!(
            session.receive(b"GET / HTTP/1.1\r\n"),
            Err(RfbError::Version("GET / HTTP/1".to_owned()))
        );
        let mut session = Session::new(desktop());
        assert!(matches!(
            session.receive(b"RFB 002.000\n"),
            Err(RfbError::Version(_))
        ));
    }

    #[test]
    fn a_security_type_not_offered_is_refused_with_a_reason_in_3_8() {
        let mut session = Session::new(desktop());
        session.receive(b"RFB 003.008\n").unwrap();
        let err = session.receive(&[2]).unwrap_err();
        assert_eq!(err, RfbError::Security(2));
        let farewell = err.farewell(Version::V3_8).unwrap();
        assert_eq!(&farewell[..4], &[0, 0, 0, 1]);
        assert_eq!(
            &farewell[8..],
            b"Only security type None is supported".as_slice()
        );
        assert_eq!(err.farewell(Version::V3_7), None);
    }

    #[test]
    fn a_full_update_request_gets_the_screen_as_one_raw_rectangle() {
        let mut session = running();
        let replies = session.receive(&[3, 0, 0, 0, 0, 0, 0, 4, 0, 2]).unwrap();
        assert_eq!(replies.len(), 1);
        let update = &replies[0];
        assert_eq!(&update[..4], &[0, 0, 0, 1]);
        assert_eq!(&update[4..12], &[0, 0, 0, 0, 0, 4, 0, 2]);
        assert_eq!(&update[12..16], &[0, 0, 0, 0]);
        // 8 pixels, little-endian 0x00102030.
        assert_eq!(update.len(), 16 + 8 * 4);
        assert_eq!(&update[16..20], &[0x30, 0x20, 0x10, 0]);
        // Nothing changes afterwards: an incremental request waits.
        assert!(session
            .receive(&[3, 1, 0, 0, 0, 0, 0, 4, 0, 2])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn an_update_request_beyond_the_screen_is_clipped() {
        let mut session = running();
        let replies = session.receive(&[3, 0, 0, 2, 0, 1, 0, 9, 0, 9]).unwrap();
        let update = &replies[0];
        assert_eq!(&update[4..12], &[0, 2, 0, 1, 0, 2, 0, 1]);
        assert_eq!(update.len(), 16 + 2 * 4);
    }

    #[test]
    fn set_pixel_format_changes_how_pixels_are_written() {
        let mut session = running();
        // 16 bits, big-endian, 5-6-5.
        let mut message = vec![0, 0, 0, 0, 16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0];
        message.extend_from_slice(&[0, 0, 0]);
        assert!(session.receive(&message).unwrap().is_empty());
        assert_eq!(session.pixel_format().bits_per_pixel, 16);
        let replies = session.receive(&[3, 0, 0, 0, 0, 0, 0, 1, 0, 1]).unwrap();
        // red 0x10 -> 1, green 0x20 -> 7, blue 0x30 -> 5.
        let expected = (1u16 << 11) | (7 << 5) | 5;
        assert_eq!(&replies[0][16..], &expected.to_be_bytes());
    }

    #[test]
    fn a_pixel_size_rfb_does_not_have_ends_the_session() {
        let mut session = running();
        let mut message = vec![0, 0, 0, 0, 24, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0];
        message.extend_from_slice(&[0, 0, 0]);
        assert_eq!(session.receive(&message), Err(RfbError::PixelFormat(24)));
    }

    #[test]
    fn encodings_keys_pointer_and_cut_text_are_read_and_answer_nothing() {
        let mut session = running();
        let mut input = vec![2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21];
        input.extend_from_slice(&[4, 1, 0, 0, 0, 0, 0xff, 0x0d]);
        input.extend_from_slice(&[5, 0, 0, 10, 0, 20]);
        input.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert!(session.receive(&input).unwrap().is_empty());
        assert_eq!(session.encodings(), &[0, -223]);
        // Still in step: the next message is read from its first byte.
        assert_eq!(
            session
                .receive(&[3, 0, 0, 0, 0, 0, 0, 1, 0, 1])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn an_unknown_message_or_a_huge_cut_text_ends_the_session() {
        let mut session = running();
        assert_eq!(session.receive(&[99]), Err(RfbError::MessageType(99)));
        let mut session = running();
        assert_eq!(
            session.receive(&[6, 0, 0, 0, 0x7f, 0, 0, 0]),
            Err(RfbError::CutText(0x7f00_0000))
        );
    }
}
