namespace SparkControl.Core.Gateway;

/// <summary>
/// What an upload is, from its first bytes: the containers OpenAI's transcription API takes (WAV, FLAC, Ogg, MP3,
/// WebM, MP4/M4A). A client's declared type and file name are its word; the bytes are what a worker will decode.
/// </summary>
public static class AudioFormat
{
    /// <summary>How many leading bytes <see cref="Sniff"/> needs to tell every format apart.</summary>
    public const int HeaderBytes = 16;

    /// <summary>The format's short name (wav, flac, ogg, mp3, aac, webm, mp4), or null when the bytes are not audio we know.</summary>
    public static string? Sniff(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 12 && head[..4].SequenceEqual("RIFF"u8) && head[8..12].SequenceEqual("WAVE"u8))
        {
            return "wav";
        }

        if (head.StartsWith("fLaC"u8))
        {
            return "flac";
        }

        if (head.StartsWith("OggS"u8))
        {
            return "ogg";
        }

        if (head.StartsWith("ID3"u8))
        {
            return "mp3";
        }

        if (head.Length >= 4 && head[..4].SequenceEqual((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3]))
        {
            return "webm";
        }

        if (head.Length >= 8 && head[4..8].SequenceEqual("ftyp"u8))
        {
            return "mp4";
        }

        // An MPEG audio frame: 11 sync bits, then a version that is not "reserved" (01). Layer bits 00 are AAC's ADTS.
        if (head.Length >= 2 && head[0] == 0xFF && (head[1] & 0xE0) == 0xE0 && (head[1] & 0x18) != 0x08)
        {
            return (head[1] & 0x06) == 0 ? "aac" : "mp3";
        }

        return null;
    }

    /// <summary>
    /// Why <paramref name="content"/> (a file's first bytes, or all of it) is not audio, as one sentence naming
    /// <paramref name="fileName"/> and what to send instead; null when it is audio. The gateway, the sweep's API, page
    /// and command say the same.
    /// </summary>
    public static string? NotAudio(ReadOnlySpan<byte> content, string fileName)
    {
        var head = content[..Math.Min(content.Length, HeaderBytes)];
        return Sniff(head) is null
            ? $"The file '{Validation.Validators.Printable(fileName)}' is not audio: {Describe(head)}. Send WAV, FLAC, Ogg, MP3, WebM or MP4/M4A audio."
            : null;
    }

    /// <summary>What the bytes look like instead, for the error message: text, an image, an archive, or unknown.</summary>
    public static string Describe(ReadOnlySpan<byte> head)
    {
        if (head.IsEmpty)
        {
            return "it is empty";
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47]) || head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]) || head.StartsWith("GIF8"u8))
        {
            return "its first bytes are an image";
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x50, 0x4B, 0x03, 0x04]) || head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]))
        {
            return "its first bytes are an archive";
        }

        if (head.StartsWith("%PDF"u8))
        {
            return "its first bytes are a PDF document";
        }

        var printable = 0;
        foreach (var b in head)
        {
            printable += b is (>= 0x20 and < 0x7F) or (byte)'\n' or (byte)'\r' or (byte)'\t' ? 1 : 0;
        }

        return printable == head.Length ? "its first bytes are text" : "its first bytes are not a format we know";
    }
}
