using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Audio.Transcripts;
using SparkControl.Core.Gateway;

namespace SparkControl.Core.Audio;

public static class AudioRegistration
{
    public static IServiceCollection AddAudio(this IServiceCollection services) => services
        .AddSingleton<EchoQueue>()
        .AddSingleton<Sweep.SweepStore>()
        .AddSingleton<Sweep.AudioSweeps>()
        .AddSingleton<Scrub.ScrubNames>()
        .AddSingleton<TranscriptStore>()
        .AddSingleton<GatewayRefereeChat>()
        .AddSingleton(sp => new WorkerTranscriber(
            sp.GetRequiredService<AudioRoutes>(),
            sp.GetRequiredService<AudioCapacity>(),
            WorkerHttp.CreateInvoker(),
            sp.GetRequiredService<TimeProvider>()))
        .AddSingleton<Func<TranscriptPipeline>>(sp => () => new TranscriptPipeline(
            sp.GetRequiredService<WorkerTranscriber>(),
            sp.GetRequiredService<IOptions<AudioOptions>>().Value,
            sp.GetRequiredService<IOptionsMonitor<TranscriptOptions>>().CurrentValue,
            sp.GetRequiredService<GatewayRefereeChat>().Current,
            sp.GetRequiredService<TimeProvider>()))
        .AddSingleton<TranscriptJobs>()
        .AddSingleton<ScrubTasks>();
}
