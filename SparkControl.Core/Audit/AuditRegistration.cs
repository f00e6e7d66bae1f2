using Microsoft.Extensions.DependencyInjection;

namespace SparkControl.Core.Audit;

public static class AuditRegistration
{
    public static IServiceCollection AddAudit(this IServiceCollection services) => services.AddSingleton<AuditLog>();
}
