// latentstudio-cli train-starter: trains the small starter model on the shapes dataset.
#include <QCommandLineParser>

#include <cstdio>

#include "commands.h"
#include "common_options.h"
#include "option_values.h"
#include "core/training/starter_training.h"
#include "core/util/error.h"
#include "core/util/threads.h"
#include "training_progress.h"

using latent::Error;

int runTrainStarter(const QStringList& arguments) {
  latent::training::StarterTrainingOptions o;
  const SeedOption seed;
  const StorageDtypeOption dtype;
  const ThreadsOption threads;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Train the starter model (a small Stable Diffusion) on synthetic captioned pictures of coloured "
      "shapes and write it as a diffusers folder, with loss_log.csv.");
  parser.addHelpOption();
  parser.addOptions({{"out", "Folder to create.", "DIR"}});
  parser.addOptions(seed.options());
  parser.addOptions({
      {"vae-steps", QString("Autoencoder steps (default %1).").arg(o.vae_steps), "N", QString::number(o.vae_steps)},
      {"unet-steps", QString("Text encoder + UNet steps (default %1).").arg(o.unet_steps), "N",
       QString::number(o.unet_steps)},
      {"batch", QString("Pictures per UNet step (default %1).").arg(o.unet_batch), "N", QString::number(o.unet_batch)},
      {"pool", QString("Pictures the UNet learns from (default %1).").arg(o.pool_size), "N",
       QString::number(o.pool_size)},
  });
  parser.addOptions(dtype.options());
  parser.addOptions({
      {"tiny", "The smallest networks (for tests; not a useful model)."},
      {"vae-from", "Take the trained VAE of this starter folder (or its .partial) and train only the text encoder and UNet.",
       "DIR"},
  });
  parser.addOptions(threads.options());
  parser.process(arguments);
  if (!parser.isSet("out")) throw Error("--out is required");
  o.out_dir = parser.value("out").toStdString();
  o.seed = seed.read(parser);
  o.vae_steps = intValue(parser, "vae-steps");
  o.unet_steps = intValue(parser, "unet-steps");
  o.unet_batch = intValue(parser, "batch");
  o.pool_size = intValue(parser, "pool");
  o.dtype = dtype.read(parser);
  o.tiny = parser.isSet("tiny");
  o.vae_from = parser.value("vae-from").toStdString();
  if (o.tiny) o.side = 32;
  latent::util::set_thread_count(threads.read(parser));

  std::fprintf(stderr, "training the starter model (seed %llu, %d threads) into %s\n",
               static_cast<unsigned long long>(o.seed), latent::util::thread_count(), o.out_dir.c_str());
  const auto result = latent::training::train_starter_model(o, printTrainingProgress);
  std::fprintf(stderr,
               "vae loss %.4f -> %.4f, unet loss %.4f -> %.4f, latent scaling factor %.4f, %.1f minutes\n",
               result.vae_first_loss, result.vae_last_loss, result.unet_first_loss, result.unet_last_loss,
               result.scaling_factor, result.seconds / 60);
  std::printf("%s\n", o.out_dir.c_str());
  return 0;
}
