using SparkControl.Core.Gateway;

namespace SparkControl.Tests.Core;

/// <summary>Uploads recognised by their first bytes, whatever their name or declared type says.</summary>
public sealed class AudioFormatTests
{
    public static TheoryData<byte[], string?> Heads => new()
    {
        { "RIFF\x24\0\0\0WAVEfmt "u8.ToArray(), "wav" },
        { "fLaC\0\0\0\x22"u8.ToArray(), "flac" },
        { "OggS\0\x02\0\0"u8.ToArray(), "ogg" },
        { "ID3\x04\0\0\0\0"u8.ToArray(), "mp3" },
        { [0xFF, 0xFB, 0x90, 0x64], "mp3" },
        { [0xFF, 0xF1, 0x50, 0x80], "aac" },
        { [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42], "webm" },
        { [0, 0, 0, 0x20, .. "ftypM4A "u8], "mp4" },
        // Neighbours: RIFF that is not WAVE, a reserved MPEG version, text, an image, nothing.
        { "RIFF\x24\0\0\0AVI LIST"u8.ToArray(), null },
        { [0xFF, 0xE8, 0x90, 0x64], null },
        { "model=whisper-1\n"u8.ToArray(), null },
        { [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A], null },
        { [], null },
        { "RIF"u8.ToArray(), null },
    };

    [Theory]
    [MemberData(nameof(Heads))]
    public void Sniff_TellsTheFormatFromTheBytes(byte[] head, string? format) => Assert.Equal(format, AudioFormat.Sniff(head));

    [Theory]
    [InlineData(new byte[] { }, "it is empty")]
    [InlineData(new byte[] { 0x68, 0x69, 0x0A }, "its first bytes are text")]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0 }, "its first bytes are an image")]
    [InlineData(new byte[] { 0x50, 0x4B, 0x03, 0x04 }, "its first bytes are an archive")]
    [InlineData(new byte[] { 0x25, 0x50, 0x44, 0x46 }, "its first bytes are a PDF document")]
    [InlineData(new byte[] { 0x00, 0x01, 0x02 }, "its first bytes are not a format we know")]
    public void Describe_SaysWhatItIsInstead(byte[] head, string said) => Assert.Equal(said, AudioFormat.Describe(head));
}
