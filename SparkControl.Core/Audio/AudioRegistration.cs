using Microsoft.Extensions.DependencyInjection;
using SparkControl.Core.Audio.Echo;

namespace SparkControl.Core.Audio;

public static class AudioRegistration
{
    public static IServiceCollection AddAudio(this IServiceCollection services) => services
        .AddSingleton<EchoQueue>()
        .AddSingleton<Sweep.SweepStore>()
        .AddSingleton<Sweep.AudioSweeps>();
}
