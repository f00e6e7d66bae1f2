using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Hosts;

public static class HostsRegistration
{
    public static IServiceCollection AddHosts(this IServiceCollection services) => services.AddSingleton<SparkHostFactory>();
}
