using System.Buffers.Binary;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Tests.Audio.Echo;

public sealed class EchoWavFileTests
{
    private static byte[] Header(ushort format, ushort channels, int rate, ushort bits, int dataBytes, bool extensible = false)
    {
        var fmtSize = extensible ? 40 : 16;
        var file = new byte[12 + 8 + fmtSize + 8 + dataBytes];
        var s = file.AsSpan();
        "RIFF"u8.CopyTo(s);
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], file.Length - 8);
        "WAVE"u8.CopyTo(s[8..]);
        "fmt "u8.CopyTo(s[12..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], fmtSize);
        BinaryPrimitives.WriteUInt16LittleEndian(s[20..], extensible ? (ushort)0xFFFE : format);
        BinaryPrimitives.WriteUInt16LittleEndian(s[22..], channels);
        BinaryPrimitives.WriteInt32LittleEndian(s[24..], rate);
        BinaryPrimitives.WriteUInt16LittleEndian(s[34..], bits);
        if (extensible)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s[36..], 22);
            BinaryPrimitives.WriteUInt16LittleEndian(s[44..], format);
        }

        var data = 20 + fmtSize;
        "data"u8.CopyTo(s[data..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[(data + 4)..], dataBytes);
        return file;
    }

    [Fact]
    public void Write16ThenRead_StereoSamples_RoundTripsWithin16BitPrecision()
    {
        float[] left = [0, 0.5f, -0.5f, 0.99f, -1f];
        float[] right = [0.25f, -0.25f, 0.1f, 0, 2f];

        var audio = WavFile.Read(WavFile.Write16(16000, left, right));

        Assert.Equal(16000, audio.SampleRate);
        Assert.Equal(2, audio.ChannelCount);
        Assert.Equal(5, audio.Length);
        for (var i = 0; i < left.Length; i++)
        {
            Assert.Equal(left[i], audio.Channels[0][i], 1e-4);
            Assert.Equal(Math.Min(right[i], 32767f / 32768f), audio.Channels[1][i], 1e-4);
        }
    }

    [Fact]
    public void Read_ExtensiblePcmWithOddChunkBeforeData_Decodes()
    {
        var file = Header(1, 1, 8000, 16, 4, extensible: true).ToList();
        // An odd-sized LIST chunk (with its pad byte) between fmt and data.
        var dataAt = 12 + 8 + 40;
        file.InsertRange(dataAt, [.. "LIST"u8.ToArray(), 3, 0, 0, 0, 1, 2, 3, 0]);
        BinaryPrimitives.WriteInt16LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(file)[(dataAt + 12 + 8)..], 16384);

        var audio = WavFile.Read(file.ToArray());

        Assert.Equal(8000, audio.SampleRate);
        Assert.Equal(2, audio.Length);
        Assert.Equal(0.5f, audio.Channels[0][0]);
    }

    [Theory]
    [InlineData("not a wav file at all", "not a WAV file")]
    [InlineData("RIFF\0\0\0\0WAVEdata\0\0\0\0", "no format chunk")]
    public void Read_NotWav_SaysWhy(string content, string expected)
    {
        var error = Assert.Throws<WavFormatException>(() => WavFile.Read(System.Text.Encoding.ASCII.GetBytes(content)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 8, "8-bit samples; send 16-bit PCM")]
    [InlineData(1, 24, "24-bit samples; send 16-bit PCM")]
    [InlineData(3, 32, "32-bit floating-point samples; send 16-bit PCM")]
    [InlineData(6, 8, "compressed (format code 6)")]
    public void Read_UnsupportedSampleFormat_SaysWhatToSend(ushort format, ushort bits, string expected)
    {
        var error = Assert.Throws<WavFormatException>(() => WavFile.Read(Header(format, 2, 16000, bits, 16)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadHeader_DataSizeLargerThanFile_UsesWhatIsThere()
    {
        var file = Header(1, 2, 16000, 16, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(40), uint.MaxValue);

        var header = WavFile.ReadHeader(file);

        Assert.Equal(8, header.DataLength);
        Assert.Equal(2, header.FrameCount);
    }

    [Theory]
    [InlineData(float.NaN, 0)]
    [InlineData(float.PositiveInfinity, 32767)]
    [InlineData(-5f, -32768)]
    [InlineData(0.5f, 16384)]
    public void ToInt16_OutOfRangeOrNaN_ClipsOrZeroes(float sample, short expected) => Assert.Equal(expected, WavFile.ToInt16(sample));
}
