using System.Diagnostics;
using System.Runtime.InteropServices;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Core.Audio.Echo;

/// <summary>
/// The peer, for side-by-side figures: speexdsp's MDF echo canceller (Debian <c>libspeexdsp1</c>) called through
/// P/Invoke, block by block, on the same 16-bit samples, frame size and tail as <see cref="EchoCanceller"/>. It gets
/// the raw reference (speexdsp has no bulk-delay estimator of its own) unless a delay is passed in. Not used by the
/// panel itself; tests and benchmarks check <see cref="IsAvailable"/> first.
/// </summary>
public static partial class SpeexEchoCanceller
{
    private const string Library = "libspeexdsp.so.1";
    private const int SetSamplingRate = 24; // SPEEX_ECHO_SET_SAMPLING_RATE in speex_echo.h
    private const int SetEchoState = 24; // SPEEX_PREPROCESS_SET_ECHO_STATE in speex_preprocess.h

    private static readonly Lazy<bool> Available = new(() =>
    {
        if (!NativeLibrary.TryLoad(Library, typeof(SpeexEchoCanceller).Assembly, null, out var handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    });

    /// <summary>Whether libspeexdsp can be loaded here.</summary>
    public static bool IsAvailable => Available.Value;

    /// <summary>
    /// Runs speexdsp over the call: <paramref name="frameSize"/> samples a frame, <paramref name="tailSamples"/> taps;
    /// the reference is first delayed by <paramref name="referenceDelay"/> samples (0 = as recorded). With
    /// <paramref name="preprocess"/>, each output frame also goes through speexdsp's preprocessor tied to the echo
    /// state: its residual echo suppression and its noise suppression, at their defaults (-40 dB, -15 dB active, -15 dB noise).
    /// </summary>
    public static (float[] Output, TimeSpan Elapsed) Cancel(ReadOnlySpan<float> mic, ReadOnlySpan<float> reference, int sampleRate, int frameSize, int tailSamples, int referenceDelay = 0, bool preprocess = false)
    {
        var frames = (mic.Length + frameSize - 1) / frameSize;
        var length = frames * frameSize;
        var recorded = new short[length];
        var played = new short[length];
        for (var i = 0; i < mic.Length; i++)
        {
            recorded[i] = WavFile.ToInt16(mic[i]);
            if (i + referenceDelay < length && i < reference.Length)
            {
                played[i + referenceDelay] = WavFile.ToInt16(reference[i]);
            }
        }

        var outputSamples = new short[length];
        var rec = new short[frameSize];
        var play = new short[frameSize];
        var output = new short[frameSize];
        var watch = Stopwatch.StartNew();
        var state = speex_echo_state_init(frameSize, tailSamples);
        if (state == IntPtr.Zero)
        {
            throw new InvalidOperationException("speex_echo_state_init failed.");
        }

        var preprocessor = IntPtr.Zero;
        try
        {
            var rate = sampleRate;
            speex_echo_ctl(state, SetSamplingRate, ref rate);
            if (preprocess)
            {
                preprocessor = speex_preprocess_state_init(frameSize, sampleRate);
                if (preprocessor == IntPtr.Zero)
                {
                    throw new InvalidOperationException("speex_preprocess_state_init failed.");
                }

                speex_preprocess_ctl(preprocessor, SetEchoState, state);
            }

            for (var f = 0; f < frames; f++)
            {
                Array.Copy(recorded, f * frameSize, rec, 0, frameSize);
                Array.Copy(played, f * frameSize, play, 0, frameSize);
                speex_echo_cancellation(state, rec, play, output);
                if (preprocessor != IntPtr.Zero)
                {
                    speex_preprocess_run(preprocessor, output);
                }

                Array.Copy(output, 0, outputSamples, f * frameSize, frameSize);
            }
        }
        finally
        {
            if (preprocessor != IntPtr.Zero)
            {
                speex_preprocess_state_destroy(preprocessor);
            }

            speex_echo_state_destroy(state);
        }

        var elapsed = watch.Elapsed;
        var result = new float[mic.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = outputSamples[i] / 32768f;
        }

        return (result, elapsed);
    }

#pragma warning disable SYSLIB1054 // LibraryImport's generated stubs need unsafe code, which Core does not enable; these signatures are blittable.
    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern IntPtr speex_echo_state_init(int frameSize, int filterLength);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern void speex_echo_state_destroy(IntPtr state);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern void speex_echo_cancellation(IntPtr state, short[] recorded, short[] played, short[] output);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern int speex_echo_ctl(IntPtr state, int request, ref int value);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern IntPtr speex_preprocess_state_init(int frameSize, int samplingRate);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern void speex_preprocess_state_destroy(IntPtr state);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern int speex_preprocess_run(IntPtr state, short[] samples);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    private static extern int speex_preprocess_ctl(IntPtr state, int request, IntPtr echoState);
#pragma warning restore SYSLIB1054
}
