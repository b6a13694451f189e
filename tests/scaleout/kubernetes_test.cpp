// examples/kubernetes/s2prep-indexed-job.yaml as Kubernetes reads it: parsed by PyYAML (an
// independent YAML parser), it is one Indexed Job whose pods run `s2prep run --plan` on a
// mounted plan, write to S3 with credentials from a Secret, and take their shard count from an
// environment variable equal to the Job's completions; its pods' command and environment, run
// here once per index as Kubernetes would, make every unit of a plan.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../cli/cli_support.hpp"

namespace s2prep::scaleouttest {
namespace {

using namespace s2prep::clitest;

const std::string kManifest =
    std::string(S2PREP_SOURCE_DIR) + "/examples/kubernetes/s2prep-indexed-job.yaml";

// Every document of the manifest, as JSON.
std::vector<json> manifest_documents() {
  const auto r = s2prep::testing::run_process(
      {S2PREP_PYTHON, "-c",
       "import json, sys, yaml\n"
       "print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))\n",
       kManifest});
  if (r.exit_code != 0) {
    throw std::runtime_error("PyYAML cannot read " + kManifest + " (python3-yaml installed?):\n" +
                             r.err);
  }
  return json::parse(r.out).get<std::vector<json>>();
}

const json& the_job(const std::vector<json>& docs) {
  const auto jobs = std::count_if(docs.begin(), docs.end(), [](const json& d) {
    return d.is_object() && d.value("kind", "") == "Job";
  });
  if (jobs != 1) throw std::runtime_error(kManifest + " holds " + std::to_string(jobs) + " Jobs");
  return *std::find_if(docs.begin(), docs.end(),
                       [](const json& d) { return d.is_object() && d.value("kind", "") == "Job"; });
}

// The container's command line: command followed by args, as Kubernetes runs it.
std::vector<std::string> command_line(const json& container) {
  std::vector<std::string> argv;
  for (const char* key : {"command", "args"}) {
    if (container.contains(key)) {
      for (const auto& a : container.at(key)) argv.push_back(a.get<std::string>());
    }
  }
  return argv;
}

std::string flag_value(const std::vector<std::string>& argv, const std::string& flag) {
  const auto it = std::find(argv.begin(), argv.end(), flag);
  if (it == argv.end() || it + 1 == argv.end()) return "";
  return *(it + 1);
}

const json* env_entry(const json& container, const std::string& name) {
  if (!container.contains("env")) return nullptr;
  for (const auto& e : container.at("env")) {
    if (e.at("name") == name) return &e;
  }
  return nullptr;
}

TEST(KubernetesManifest, IsAnIndexedJobRunningPlanShardsIntoS3) {
  const auto docs = manifest_documents();
  const json& job = the_job(docs);
  EXPECT_EQ(job.at("apiVersion"), "batch/v1");
  const json& spec = job.at("spec");
  EXPECT_EQ(spec.at("completionMode"), "Indexed");
  ASSERT_TRUE(spec.at("completions").is_number_integer());
  ASSERT_TRUE(spec.at("parallelism").is_number_integer());
  const int completions = spec.at("completions").get<int>();
  EXPECT_GE(completions, 1);
  EXPECT_GE(spec.at("parallelism").get<int>(), 1);
  EXPECT_LE(spec.at("parallelism").get<int>(), completions);

  const json& pod = spec.at("template").at("spec");
  EXPECT_TRUE(pod.at("restartPolicy") == "Never" || pod.at("restartPolicy") == "OnFailure");
  ASSERT_EQ(pod.at("containers").size(), 1u);
  const json& container = pod.at("containers").at(0);

  const auto argv = command_line(container);
  ASSERT_GE(argv.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(argv.begin(), argv.begin() + 3),
            (std::vector<std::string>{"s2prep", "run", "--plan"}));
  // The shard comes from the Job's index: no --shard I/N fixed in the manifest.
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "--shard"), argv.end());
  EXPECT_EQ(flag_value(argv, "--out").rfind("s3://", 0), 0u) << flag_value(argv, "--out");

  // The plan lies in a volume the pod mounts, and that volume exists.
  const std::string plan = flag_value(argv, "--plan");
  bool plan_mounted = false;
  for (const auto& mount : container.value("volumeMounts", json::array())) {
    const std::string dir = mount.at("mountPath").get<std::string>() + "/";
    if (plan.rfind(dir, 0) != 0) continue;
    for (const auto& volume : pod.value("volumes", json::array())) {
      if (volume.at("name") == mount.at("name") &&
          (volume.contains("configMap") || volume.contains("persistentVolumeClaim"))) {
        plan_mounted = true;
      }
    }
  }
  EXPECT_TRUE(plan_mounted) << plan << " is not in a mounted ConfigMap or volume";

  const json* count = env_entry(container, "S2PREP_SHARD_COUNT");
  ASSERT_NE(count, nullptr) << "S2PREP_SHARD_COUNT is not set";
  EXPECT_EQ(count->at("value"), std::to_string(completions));

  // Credentials come from a Secret, never written into the manifest.
  for (const std::string name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
    const json* e = env_entry(container, name);
    ASSERT_NE(e, nullptr) << name << " is not set";
    EXPECT_FALSE(e->contains("value")) << name;
    EXPECT_TRUE(e->contains("valueFrom") && e->at("valueFrom").contains("secretKeyRef")) << name;
  }
}

// Each pod: the container's command with the plan and the destination swapped for a local
// folder (no S3 here), the manifest's environment (apart from the image's model folder) and the
// JOB_COMPLETION_INDEX Kubernetes sets. Together the Job's pods make every unit of the plan.
TEST(KubernetesManifest, ItsPodsMakeEveryUnitOfAPlan) {
  const auto docs = manifest_documents();
  const json& job = the_job(docs);
  const int completions = job.at("spec").at("completions").get<int>();
  const json& container = job.at("spec").at("template").at("spec").at("containers").at(0);

  ServedScene served;
  TempDir out("s2prep-k8s-out");
  auto plan_args = served.args(demo_region(), {"2021-01-01", "2023-12-31"}, out.path());
  plan_args.at(0) = "plan";
  const auto planned = s2prep(plan_args);
  ASSERT_EQ(planned.exit_code, 0) << describe(planned);
  const int units = std::stoi(planned.out);
  ASSERT_GT(units, 1);

  auto argv = command_line(container);
  ASSERT_EQ(argv.at(0), "s2prep");
  argv.at(0) = kBin;
  *(std::find(argv.begin(), argv.end(), "--plan") + 1) = (out / "plan.json").string();
  *(std::find(argv.begin(), argv.end(), "--out") + 1) = out.path().string();
  std::map<std::string, std::string> env;
  for (const auto& e : container.at("env")) {
    if (e.contains("value")) env[e.at("name")] = e.at("value");
  }
  env.erase("S2PREP_MODEL_DIR");  // the image's; the plan was made with the built-in models
  for (int index = 0; index < completions; ++index) {
    env["JOB_COMPLETION_INDEX"] = std::to_string(index);
    const auto pod = s2prep::testing::run_process(argv, clean_env(env));
    ASSERT_EQ(pod.exit_code, 0) << "index " << index << ": " << describe(pod);
  }
  const auto collected = s2prep({"collect", "--out", out.path().string()});
  EXPECT_EQ(collected.exit_code, 0) << describe(collected);
  EXPECT_EQ(output_items(out.path()).size(), std::size_t(units));
}

}  // namespace
}  // namespace s2prep::scaleouttest
