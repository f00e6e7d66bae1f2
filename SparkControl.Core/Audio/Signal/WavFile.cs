using System.Buffers.Binary;

namespace SparkControl.Core.Audio.Signal;

/// <summary>
/// Reads and writes RIFF/WAVE files with 16-bit PCM samples, the format every tool in the audio pipeline
/// (sox, espeak-ng, pocketsphinx, the transcription servers) agrees on. Anything else is refused with a
/// <see cref="WavFormatException"/> that says what the file is and what to send instead.
/// </summary>
public static class WavFile
{
    private const ushort FormatPcm = 1;
    private const ushort FormatFloat = 3;
    private const ushort FormatExtensible = 0xFFFE;

    /// <summary>What the header says, without decoding the samples (to refuse a file before the work).</summary>
    public sealed record Header(int SampleRate, int Channels, int BitsPerSample, ushort Format, int DataOffset, int DataLength)
    {
        public int FrameCount => Channels * (BitsPerSample / 8) is var frame and > 0 ? DataLength / frame : 0;

        public TimeSpan Duration => SampleRate > 0 ? TimeSpan.FromSeconds((double)FrameCount / SampleRate) : TimeSpan.Zero;
    }

    public static Header ReadHeader(ReadOnlySpan<byte> file)
    {
        if (file.Length < 12 || !file[..4].SequenceEqual("RIFF"u8) || !file.Slice(8, 4).SequenceEqual("WAVE"u8))
        {
            throw new WavFormatException("The file is not a WAV file (no RIFF/WAVE header).");
        }

        int? rate = null, channels = null, bits = null;
        ushort format = 0;
        var position = 12;
        while (position + 8 <= file.Length)
        {
            var id = file.Slice(position, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(file.Slice(position + 4, 4));
            var body = position + 8;
            if (id.SequenceEqual("fmt "u8))
            {
                if (size < 16 || body + 16 > file.Length)
                {
                    throw new WavFormatException("The WAV file's format chunk is truncated.");
                }

                format = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(body, 2));
                channels = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(body + 2, 2));
                rate = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(file.Slice(body + 4, 4)));
                bits = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(body + 14, 2));
                if (format == FormatExtensible && size >= 40 && body + 26 <= file.Length)
                {
                    // The sub-format GUID starts with the real format code.
                    format = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(body + 24, 2));
                }
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (rate is null)
                {
                    throw new WavFormatException("The WAV file has no format chunk before its data.");
                }

                // Streamed files may announce 0 or 0xFFFFFFFF bytes; take what is really there.
                var available = file.Length - body;
                var length = size == 0 || size > (uint)available ? available : (int)size;
                return new Header(rate.Value, channels!.Value, bits!.Value, format, body, length);
            }

            position = body + (int)Math.Min(size + (size & 1), (uint)(file.Length - body));
        }

        throw new WavFormatException(rate is null ? "The WAV file has no format chunk." : "The WAV file has no data chunk.");
    }

    /// <summary>Why <see cref="Read"/> cannot decode a file with this header (not 16-bit PCM, not sensible); null when it can.</summary>
    public static string? NotPcm16(Header header) =>
        header.Format == FormatFloat ? $"The WAV file holds {header.BitsPerSample}-bit floating-point samples; send 16-bit PCM (e.g. sox in.wav -b 16 -e signed-integer out.wav)."
        : header.Format != FormatPcm ? $"The WAV file is compressed (format code {header.Format}); send 16-bit PCM."
        : header.BitsPerSample != 16 ? $"The WAV file has {header.BitsPerSample}-bit samples; send 16-bit PCM (e.g. sox in.wav -b 16 out.wav)."
        : header.Channels < 1 || header.SampleRate < 1 ? $"The WAV file's header is not sensible ({header.Channels} channels at {header.SampleRate} Hz)."
        : null;

    /// <summary>Decodes a 16-bit PCM WAV file (any rate, any channel count).</summary>
    public static PcmAudio Read(ReadOnlySpan<byte> file)
    {
        var header = ReadHeader(file);
        if (NotPcm16(header) is { } problem)
        {
            throw new WavFormatException(problem);
        }

        var frames = header.FrameCount;
        var channels = new float[header.Channels][];
        for (var c = 0; c < channels.Length; c++)
        {
            channels[c] = new float[frames];
        }

        var data = file.Slice(header.DataOffset, frames * header.Channels * 2);
        for (var i = 0; i < frames; i++)
        {
            for (var c = 0; c < channels.Length; c++)
            {
                channels[c][i] = BinaryPrimitives.ReadInt16LittleEndian(data.Slice(((i * channels.Length) + c) * 2, 2)) / 32768f;
            }
        }

        return new PcmAudio(header.SampleRate, 16, channels);
    }

    /// <summary>Encodes channels of equal length as 16-bit PCM, rounding and clipping each sample.</summary>
    public static byte[] Write16(int sampleRate, params ReadOnlySpan<float[]> channels)
    {
        if (channels.Length == 0)
        {
            throw new ArgumentException("At least one channel is needed.", nameof(channels));
        }

        var frames = channels[0].Length;
        foreach (var channel in channels)
        {
            if (channel.Length != frames)
            {
                throw new ArgumentException("Every channel must have the same length.", nameof(channels));
            }
        }

        var blockAlign = channels.Length * 2;
        var dataLength = frames * blockAlign;
        var file = new byte[44 + dataLength];
        var span = file.AsSpan();
        "RIFF"u8.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)(36 + dataLength));
        "WAVE"u8.CopyTo(span[8..]);
        "fmt "u8.CopyTo(span[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(span[20..], FormatPcm);
        BinaryPrimitives.WriteUInt16LittleEndian(span[22..], (ushort)channels.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(span[28..], (uint)(sampleRate * blockAlign));
        BinaryPrimitives.WriteUInt16LittleEndian(span[32..], (ushort)blockAlign);
        BinaryPrimitives.WriteUInt16LittleEndian(span[34..], 16);
        "data"u8.CopyTo(span[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[40..], (uint)dataLength);
        var position = 44;
        for (var i = 0; i < frames; i++)
        {
            foreach (var channel in channels)
            {
                BinaryPrimitives.WriteInt16LittleEndian(span[position..], ToInt16(channel[i]));
                position += 2;
            }
        }

        return file;
    }

    public static short ToInt16(float sample)
    {
        var scaled = MathF.Round(sample * 32768f);
        return float.IsNaN(scaled) ? (short)0 : (short)Math.Clamp(scaled, short.MinValue, short.MaxValue);
    }
}

/// <summary>A file that is not a WAV file this code can read; the message says why and what to send instead.</summary>
public sealed class WavFormatException(string message) : Exception(message);
