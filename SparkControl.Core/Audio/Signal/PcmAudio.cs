namespace SparkControl.Core.Audio.Signal;

/// <summary>
/// Decoded PCM audio: one float array per channel, samples scaled to [-1, 1). <see cref="BitsPerSample"/> is the
/// depth the file was stored with (the decoder only accepts 16-bit, see <see cref="WavFile"/>).
/// </summary>
public sealed record PcmAudio(int SampleRate, int BitsPerSample, IReadOnlyList<float[]> Channels)
{
    public int ChannelCount => Channels.Count;

    /// <summary>Samples per channel.</summary>
    public int Length => Channels.Count == 0 ? 0 : Channels[0].Length;

    public TimeSpan Duration => SampleRate == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)Length / SampleRate);
}
