using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Secrets;

public static class SecretsRegistration
{
    public static IServiceCollection AddSecrets(this IServiceCollection services) => services.AddSingleton<SecretStore>();
}
